"""The archive bucket (S3): objects put, listed, read and deleted whole. S3's errors become
ArchiveUnavailable; nothing else here decides anything."""

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from leadstream.platform import aws
from leadstream.platform.errors import ArchiveUnavailable


class ArchiveStore:
    def __init__(self, bucket: str, client: Any | None = None) -> None:
        self.bucket = bucket
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or aws.client("s3")

    def _call(self, doing: str, operation: str, **params: Any) -> Any:
        try:
            return getattr(self.client, operation)(Bucket=self.bucket, **params)
        except (ClientError, BotoCoreError) as exc:
            code = exc.response["Error"]["Code"] if isinstance(exc, ClientError) else type(exc).__name__
            raise ArchiveUnavailable(f"{doing}: S3 answered {code}") from exc

    def put(self, key: str, body: bytes) -> None:
        self._call(
            "writing an archive object",
            "put_object",
            Key=key,
            Body=body,
            ContentType="application/x-ndjson",
            ContentEncoding="gzip",
        )

    def get(self, key: str) -> bytes:
        body: bytes = self._call("reading an archive object", "get_object", Key=key)["Body"].read()
        return body

    def delete(self, key: str) -> None:
        self._call("deleting an archive object", "delete_object", Key=key)

    def keys(self, prefix: str, start_after: str = "") -> Iterator[str]:
        """The keys under `prefix` after `start_after`, in order (a page of 1,000 per call)."""
        params: dict[str, Any] = {"Prefix": prefix}
        if start_after:
            params["StartAfter"] = start_after
        while True:
            page = self._call("listing the archive", "list_objects_v2", **params)
            for entry in page.get("Contents", []):
                yield str(entry["Key"])
            if not page.get("IsTruncated"):
                return
            params = {"Prefix": prefix, "ContinuationToken": page["NextContinuationToken"]}
