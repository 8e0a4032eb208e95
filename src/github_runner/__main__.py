from github_runner.cli.main import main

main()
