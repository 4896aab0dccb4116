import signal

import pytest
import torch

# One torch thread per test process: with pytest-xdist two workers on two
# cores, each with two intra-op threads, spend their time waiting on each
# other, and a lone pytest beside other jobs slows down 30-100x the same way.
# The tests' networks are far too small to gain from a second thread.
torch.set_num_threads(1)

# The Ctrl-C tests press it with _thread.interrupt_main(), which Python turns
# into KeyboardInterrupt only if SIGINT has its default Python handler; a shell
# starts background jobs (as CI may run us) with SIGINT ignored, and then the
# simulated Ctrl-C would do nothing and those fits would run to their end.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
