"""Prediction memory is the output plus one block, at any number of rows (issue 18).

tracemalloc sees numpy's allocations (not torch's), which is where the
full-size copies were: a float32 copy of float64 input, the float64
transform of the autoencoder, the list of per-chunk outputs and its
concatenation, the float64 softmax of the whole output, one probability
array per CWoLa fold model. The bounds are far below what the old code
allocated on the same data (in the comments) and do not depend on the
machine or its load.
"""

import tracemalloc

import numpy as np
import pandas as pd
import pytest

from skhep_ml import AutoencoderAnomalyDetector, CWoLaClassifier, DNNClassifier
from skhep_ml.cwola import default_estimator
from skhep_ml.utils import PREDICT_BLOCK, predict_blocks

N_ROWS = 300_000
N_FEATURES = 18
MB = 2**20


def _traced_peak(fn, X):
    """Peak of numpy's allocations during ``fn(X)`` above the output, in MB."""
    tracemalloc.start()
    try:
        out = fn(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return (peak - out.nbytes) / MB


@pytest.fixture(scope="module")
def big_X():
    rng = np.random.default_rng(0)
    return rng.standard_normal((N_ROWS, N_FEATURES))  # float64: 41 MB


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((400, N_FEATURES)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(int)


def test_classifier_prediction_allocates_one_block_not_the_data(big_X, small):
    clf = DNNClassifier(hidden_layers=(8,), max_epochs=1, random_state=0).fit(*small)
    # before: the float32 copy of X (21 MB), the outputs twice and the softmax
    # temporaries of all rows: 34 MB above the output (now about 10)
    assert _traced_peak(clf.predict_proba, big_X) < 20
    frame = pd.DataFrame(big_X, columns=[f"f{j}" for j in range(N_FEATURES)])
    clf_named = DNNClassifier(hidden_layers=(8,), max_epochs=1, random_state=0)
    clf_named.fit(frame.iloc[:400], small[1])
    assert _traced_peak(clf_named.predict_proba, frame) < 20


def test_autoencoder_scores_allocate_one_block_not_the_data(big_X, small):
    ad = AutoencoderAnomalyDetector(hidden_layers=(4,), max_epochs=1, random_state=0)
    ad.fit(small[0])
    X = big_X.astype(np.float32)
    # before: the float64 copy of X, its float64 transform and the float64
    # reconstruction (41 MB each): 121 MB above the output (now about 30)
    assert _traced_peak(ad.score_samples, X) < 45


def test_cwola_prediction_holds_one_model_output_at_a_time(big_X, small):
    trees = default_estimator(random_state=0).set_params(max_iter=3)
    cwola = CWoLaClassifier(mass=None, estimator=trees, n_folds=3, random_state=0)
    cwola.fit(*small)
    # before: the float32 copy, and 6 probability arrays of all rows besides the
    # trees' own float64 copy of X: 85 MB above the output (now about 20)
    assert _traced_peak(cwola.predict_proba, big_X) < 40


def test_blocks_raise_the_messages_of_whole_validation(small):
    clf = DNNClassifier(hidden_layers=(4,), max_epochs=1, random_state=0).fit(*small)
    n = PREDICT_BLOCK + 100
    X = np.zeros((n, N_FEATURES))
    X[n - 5, 3] = 1e39  # in the second block; finite in float64, inf in float32
    with pytest.raises(ValueError, match="infinity or a value too large"):
        clf.predict_proba(X)
    X[n - 5, 3] = np.nan
    X[n - 1, 7] = np.nan
    # the columns and the row count are those of the whole X, not of the block
    with pytest.raises(ValueError, match=r"NaN in column\(s\) \[3, 7\] \(2 row\(s\)\)"):
        clf.predict_proba(X)
    with pytest.raises(ValueError, match="X has 17 features"):
        clf.predict_proba(np.zeros((n, N_FEATURES - 1)))


def test_predict_blocks_cover_every_row_once(small):
    clf = DNNClassifier(hidden_layers=(4,), max_epochs=1, random_state=0).fit(*small)
    X = np.arange(7 * N_FEATURES, dtype=np.float64).reshape(7, N_FEATURES)
    n, blocks = predict_blocks(clf, X, block=3)
    got = [(sl, b) for sl, b in blocks]
    assert n == 7 and [sl.start for sl, _ in got] == [0, 3, 6]
    np.testing.assert_array_equal(np.vstack([b for _, b in got]), X.astype(np.float32))
    assert all(b.dtype == np.float32 and b.flags.writeable for _, b in got)
