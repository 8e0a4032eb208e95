"""The results service (v2 reporting): step states, step/job logs and summaries via signed blobs.

Twirp JSON with snake_case names and numeric enums (runner-protocol §7.2). Blob uploads go to
the signed URL without our Authorization header (the URL carries its own signature).
"""

from __future__ import annotations

import time
from typing import Any

from github_runner.github.http import ApiClient, Credential

STEPS = "twirp/github.actions.results.api.v1.WorkflowStepUpdateService/WorkflowStepsUpdate"
RECEIVER = "twirp/results.services.receiver.Receiver/"
BLOCK = 2 * 1024 * 1024  # append-blob block size


def ts(t: float | None) -> str | None:
    if t is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


class ResultsClient:
    def __init__(self, api: ApiClient, base_url: str, auth: Credential, plan_id: str,
                 job_id: str) -> None:
        self.api = api
        self.base = base_url if base_url.endswith("/") else base_url + "/"
        self.auth = auth
        self.ids = {"workflow_run_backend_id": plan_id, "workflow_job_run_backend_id": job_id}
        self.change_order = 0

    async def _twirp(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = await self.api.request("POST", self.base + path, auth=self.auth,
                                      json=self.ids | body)
        data = resp.json() if resp.content else {}
        return data if isinstance(data, dict) else {}

    async def update_steps(self, steps: list[dict[str, Any]]) -> None:
        self.change_order += 1
        await self._twirp(STEPS, {"change_order": self.change_order, "steps": steps})

    async def _put_blob(self, url: str, data: bytes, content_type: str) -> None:
        if len(data) <= BLOCK:
            await self.api.request("PUT", url, content=data,
                                   headers={"x-ms-blob-type": "BlockBlob",
                                            "Content-Type": content_type})
            return
        await self.api.request("PUT", url, content=b"",
                               headers={"x-ms-blob-type": "AppendBlob",
                                        "Content-Type": content_type})
        sep = "&" if "?" in url else "?"
        chunks = [data[i:i + BLOCK] for i in range(0, len(data), BLOCK)]
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            headers = {"x-ms-blob-sealed": "true"} if last else {}
            await self.api.request("PUT", url + sep + "comp=appendblock" +
                                   ("&seal=true" if last else ""), content=chunk, headers=headers)

    async def upload_step_log(self, step_id: str, text: str, line_count: int) -> None:
        data = await self._twirp(RECEIVER + "GetStepLogsSignedBlobURL", {"step_backend_id": step_id})
        await self._put_blob(str(data["logs_url"]), text.encode(), "text/plain")
        await self._twirp(RECEIVER + "CreateStepLogsMetadata",
                          {"step_backend_id": step_id, "uploaded_at": ts(time.time()),
                           "line_count": line_count})

    async def upload_job_log(self, text: str, line_count: int) -> None:
        data = await self._twirp(RECEIVER + "GetJobLogsSignedBlobURL", {})
        await self._put_blob(str(data["logs_url"]), text.encode(), "text/plain")
        await self._twirp(RECEIVER + "CreateJobLogsMetadata",
                          {"uploaded_at": ts(time.time()), "line_count": line_count})

    async def upload_summary(self, step_id: str, markdown: str) -> None:
        data = await self._twirp(RECEIVER + "GetStepSummarySignedBlobURL",
                                 {"step_backend_id": step_id})
        raw = markdown.encode()
        await self._put_blob(str(data["summary_url"]), raw, "text/markdown")
        await self._twirp(RECEIVER + "CreateStepSummaryMetadata",
                          {"step_backend_id": step_id, "uploaded_at": ts(time.time()),
                           "size": len(raw)})
