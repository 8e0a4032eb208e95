"""One step's I/O glue: output lines -> command processor -> effects -> job state and events.

The command processor and file-command readers (`engine/commands/`) are pure: they return
effects. This module applies them to the job (env, PATH, outputs, state, masks) and turns the
visible ones into masked LogLine/Annotation/SummaryAppended events through `JobLog`.
"""

from __future__ import annotations

from typing import Any

from github_runner.engine.commands import effects as fx
from github_runner.engine.commands.file_commands import prepend_path
from github_runner.engine.events import SummaryAppended
from github_runner.engine.output import StepOutput
from github_runner.engine.plan import StepPlan
from github_runner.engine.state import JobState, Scope


class StepIO:
    def __init__(self, state: JobState, scope: Scope, step: StepPlan, env: dict[str, str]) -> None:
        from github_runner.engine.commands.file_commands import StepFiles
        from github_runner.engine.commands.processor import CommandProcessor

        self.state = state
        self.scope = scope
        self.step = step
        self.outputs: dict[str, str] = {}
        self.failed = False
        self.processor = CommandProcessor(
            state.masker,
            job=state.command_state,
            env=env,
            step_debug=state.plan.debug,
            workspace=str(state.workspace),
            repository=str(state.github.get("repository") or "") or None,
        )
        self.out = StepOutput(self._line)
        self.files = StepFiles.create(state.temp / "_runner_file_commands")

    def file_command_env(self) -> dict[str, str]:
        return self.files.environment(self.state.sandbox.to_job_path)

    async def write(self, chunk: bytes) -> None:
        await self.out.write(chunk)

    async def close(self) -> None:
        await self.out.close()

    async def _line(self, line: str) -> None:
        for effect in self.processor.process_line(line).effects:
            await self.apply(effect)

    async def apply(self, effect: Any) -> None:
        state, log, step_id = self.state, self.state.log, self.scope.log_id(self.step.id)
        if isinstance(effect, fx.Output):
            await log.line(effect.text, step_id=step_id, kind="output")
        elif isinstance(effect, fx.GroupStart):
            await log.line(effect.title, step_id=step_id, kind="group")
        elif isinstance(effect, fx.GroupEnd):
            await log.line("", step_id=step_id, kind="endgroup")
        elif isinstance(effect, fx.Debug):
            if state.plan.debug:
                await log.line(effect.message, step_id=step_id, kind="debug")
        elif isinstance(effect, fx.Issue):
            await log.annotate(
                effect.level,
                effect.message,
                step_id=step_id,
                title=effect.title,
                file=effect.file,
                line=effect.line,
                end_line=effect.end_line,
                col=effect.col,
                end_column=effect.end_column,
            )
        elif isinstance(effect, fx.SetOutput):
            self.outputs[effect.name] = effect.value
        elif isinstance(effect, fx.SaveState):
            state.states.setdefault(self.step.id, {})[effect.name] = effect.value
        elif isinstance(effect, fx.SetEnv):
            state.env[effect.name] = effect.value
        elif isinstance(effect, fx.AddPath):
            prepend_path(state.path, [effect.path])
        elif isinstance(effect, fx.StepSummary):
            await state.reporter.emit(
                SummaryAppended(state.plan.job_id, step_id, state.masker.mask(effect.markdown))
            )
        elif isinstance(effect, fx.CommandFailed):
            self.failed = True
        # MaskAdded, AddMatcher, RemoveMatcher: nothing more to do here.

    async def finish(self) -> dict[str, str]:
        """Read the file commands after the process ended; returns the step's outputs."""
        result = self.files.process(self.state.masker.mask)
        for effect in result.effects:
            await self.apply(effect)
        self.files.remove()
        return dict(self.outputs)
