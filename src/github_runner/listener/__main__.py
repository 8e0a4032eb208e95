import sys

from github_runner.listener.process import main

sys.exit(main(sys.argv[1:]))
