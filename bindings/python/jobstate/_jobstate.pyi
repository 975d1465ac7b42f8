"""Type stubs of the native module _jobstate (private: use jobstate.Engine)."""

import asyncio
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

_JSON = Any
_Settle = Callable[[Any], None]

def _at_exit() -> None:
    """Called by the package's atexit hook, on the thread that then finalizes
    the interpreter: other threads that would enter the module, or come back
    to Python from the engine, are parked for good from now on."""

def _parse_timestamp(text: str) -> int: ...
def _format_timestamp(micros: int) -> str: ...
def _set_error_factory(
    factory: Callable[[int, str, str, Optional[str], Optional[int]], BaseException],
) -> None: ...

class OpHandle:
    """A pending asynchronous wait or watch."""

    def cancel(self) -> None: ...

class WaitOutcome:
    def result(self) -> Tuple[Dict[str, _JSON], bool]: ...

class WatchOutcome:
    def result(self) -> Dict[str, _JSON]: ...

class ClaimOutcome:
    def result(self) -> Optional[Dict[str, _JSON]]: ...

class Engine:
    """An open job database (low level: dicts in, dicts out). Thread-safe.

    str arguments must be encodable as UTF-8 (a lone surrogate raises
    InvalidArgument, naming where it is; another type raises TypeError);
    `after` and `limit` of changes() must be ints from 0 to 2**64 - 1.
    """

    def __init__(
        self, path: Union[bytes, str], options: Optional[Dict[str, _JSON]],
    ) -> None:
        """`path` as the file system takes it (the package passes
        os.fsencode(path))."""
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    def create(self, request: Dict[str, _JSON]) -> Tuple[Dict[str, _JSON], bool]: ...
    def create_batch(
        self, request: Dict[str, _JSON],
    ) -> Tuple[Dict[str, _JSON], List[str], bool]: ...
    def list_children(
        self, account_id: str, project_id: str, job_id: str,
        query: Optional[Dict[str, _JSON]],
    ) -> Dict[str, _JSON]: ...
    def get(self, account_id: str, project_id: str, job_id: str) -> Dict[str, _JSON]: ...
    def start(
        self, account_id: str, project_id: str, job_id: str,
        options: Optional[Dict[str, _JSON]],
    ) -> Dict[str, _JSON]: ...
    def report_progress(
        self, account_id: str, project_id: str, job_id: str,
        progress: Dict[str, _JSON], options: Optional[Dict[str, _JSON]],
    ) -> Dict[str, _JSON]: ...
    def complete(
        self, account_id: str, project_id: str, job_id: str,
        completion: Dict[str, _JSON], options: Optional[Dict[str, _JSON]],
    ) -> Dict[str, _JSON]: ...
    def cancel(
        self, account_id: str, project_id: str, job_id: str, reason: str,
        options: Optional[Dict[str, _JSON]],
    ) -> Dict[str, _JSON]: ...
    def rerun(
        self, account_id: str, project_id: str, job_id: str,
        options: Optional[Dict[str, _JSON]],
    ) -> Dict[str, _JSON]: ...
    def claim(self, request: Dict[str, _JSON]) -> Optional[Dict[str, _JSON]]: ...
    def claim_async(
        self, request: Dict[str, _JSON], loop: asyncio.AbstractEventLoop,
        settle: _Settle,
    ) -> OpHandle: ...
    def heartbeat(
        self, account_id: str, project_id: str, id: str,
        progress: Optional[Dict[str, _JSON]], options: Optional[Dict[str, _JSON]],
    ) -> Tuple[Dict[str, _JSON], bool]: ...
    def expire_leases(self) -> int: ...
    def list(self, query: Dict[str, _JSON]) -> Dict[str, _JSON]: ...
    def purge(self, request: Optional[Dict[str, _JSON]]) -> Dict[str, _JSON]: ...
    def changes(self, after: int, limit: int) -> Dict[str, _JSON]: ...
    def last_sequence(self) -> int: ...
    def wait(
        self, account_id: str, project_id: str, job_id: str,
        condition: Optional[Dict[str, _JSON]], timeout_ms: int,
    ) -> Tuple[Dict[str, _JSON], bool]: ...
    def wait_async(
        self, account_id: str, project_id: str, job_id: str,
        condition: Optional[Dict[str, _JSON]], timeout_ms: int,
        loop: asyncio.AbstractEventLoop, settle: _Settle,
    ) -> OpHandle: ...
    def watch(self, request: Dict[str, _JSON]) -> Dict[str, _JSON]: ...
    def watch_async(
        self, request: Dict[str, _JSON], loop: asyncio.AbstractEventLoop,
        settle: _Settle,
    ) -> OpHandle: ...
