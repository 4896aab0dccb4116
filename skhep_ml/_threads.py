"""torch's intra-op threads inside a dask worker: at most the worker's threads.

A dask worker runs ``nthreads`` tasks at once on the cores it was given;
torch, left alone, starts one intra-op thread per core of the machine in
every task, and the workers then fight over the cores. The bridge
(:mod:`skhep_ml._base`) wraps its training and its forward passes in
:func:`worker_threads`, which caps torch at the worker's ``nthreads`` for the
duration of the call and restores the caller's setting afterwards. Outside a
dask worker it does nothing. (dask's nanny also starts workers with
``OMP_NUM_THREADS=1``, and joblib's loky workers get
``cpu_count // n_jobs``: torch reads both at import; the cap covers the
workers started otherwise, and any later ``torch.set_num_threads``.)
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading

import torch

__all__ = ["worker_threads"]

_lock = threading.Lock()
# torch's thread count is per process, the tasks of a worker share it: the
# first task in sets the cap, the last one out restores the setting before it
_active = 0
_saved = None


def _dask_worker_nthreads():
    """Threads of the dask worker running this code, or None outside one."""
    distributed = sys.modules.get("distributed")
    if distributed is None:  # never imported in this process: not a worker
        return None
    try:
        worker = distributed.get_worker()
    except ValueError:  # "No worker found"
        return None
    return worker.state.nthreads


@contextlib.contextmanager
def _capped():
    global _active, _saved
    nthreads = _dask_worker_nthreads()
    if nthreads is None:
        yield
        return
    with _lock:
        if _active == 0:
            _saved = torch.get_num_threads()
            torch.set_num_threads(max(1, min(_saved, nthreads)))
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                torch.set_num_threads(_saved)


def worker_threads(method):
    """Decorator: run ``method`` with torch's threads capped inside a dask worker."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with _capped():
            return method(*args, **kwargs)

    return wrapper
