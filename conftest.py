import os

import pytest
import torch

# With pytest-xdist each worker gets one thread: two workers on two cores,
# each with two intra-op threads, spend their time waiting on each other.
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
