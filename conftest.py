import pytest
import torch

# One torch thread per test process: with pytest-xdist two workers on two
# cores, each with two intra-op threads, spend their time waiting on each
# other, and a lone pytest beside other jobs slows down 30-100x the same way.
# The tests' networks are far too small to gain from a second thread.
torch.set_num_threads(1)


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
