"""skhep_ml.io: ROOT TTrees written with uproot, read back into pandas and dask."""

import numpy as np
import pandas as pd
import pytest

uproot = pytest.importorskip("uproot")
ak = pytest.importorskip("awkward")

from skhep_ml.datasets import make_pid_tracks  # noqa: E402
from skhep_ml.io import iter_root, read_root  # noqa: E402

SENTINEL = -999.0


def _tracks(n, seed):
    """PID tracks as the files hold them: NaN written as ALICE's -999, pdg as int32."""
    X, y = make_pid_tracks(n_samples=max(n, 1), random_state=seed, return_X_y=True)
    return X.astype(np.float32).assign(pdg=y.to_numpy().astype(np.int32)).iloc[:n]


def _write(path, data, tree="tracks"):
    stored = data.fillna(SENTINEL)
    with uproot.recreate(path) as file:
        ttree = file.mktree(tree, {c: stored[c].dtype for c in stored})
        ttree.extend({c: stored[c].to_numpy() for c in stored})
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Three files of 300, 0 and 200 tracks (an empty file in the middle)."""
    folder = tmp_path_factory.mktemp("root")
    parts = [_tracks(300, 0), _tracks(0, 1), _tracks(200, 2)]
    paths = [_write(folder / f"run{i}.root", d) for i, d in enumerate(parts)]
    expected = pd.concat(parts, ignore_index=True)
    return paths, expected


def test_round_trip_with_missing_sentinel(files):
    paths, expected = files
    df = read_root(paths[0], "tracks", missing=SENTINEL)
    pd.testing.assert_frame_equal(df, expected.iloc[:300])
    # the sentinel is there in the file, NaN only after the replacement
    raw = read_root(paths[0], "tracks")
    assert (raw["tof_beta"] == SENTINEL).sum() == expected["tof_beta"].iloc[:300].isna().sum() > 0
    assert not raw.isna().any().any()
    assert df["pdg"].dtype == np.int32  # a single sentinel leaves integer columns alone


def test_several_files_and_glob(files):
    paths, expected = files
    from_list = read_root(paths, "tracks", missing=SENTINEL)
    pd.testing.assert_frame_equal(from_list, expected)
    assert isinstance(from_list.index, pd.RangeIndex)  # the entry number across files
    from_glob = read_root(str(paths[0].parent / "run*.root"), "tracks", missing=SENTINEL)
    pd.testing.assert_frame_equal(from_glob, expected)


def test_equals_uproot_concatenate(files):
    paths, _ = files
    cut = "(pt > 0.5) & (tof_beta > 0)"
    ours = read_root(paths, "tracks", columns=["pt", "tof_beta"], cut=cut)
    theirs = uproot.concatenate(
        [f"{p}:tracks" for p in paths], ["pt", "tof_beta"], cut=cut, library="pd"
    )
    pd.testing.assert_frame_equal(ours, theirs)


def test_columns_and_cut(files):
    paths, expected = files
    df = read_root(paths, "tracks", columns=["tof_beta", "pt"], cut="pt > 1", missing=SENTINEL)
    want = expected.loc[expected["pt"] > 1, ["tof_beta", "pt"]]
    assert 0 < len(df) < len(expected)
    pd.testing.assert_frame_equal(df, want)  # the index keeps the entry numbers
    # the cut sees the stored values: the sentinel rows fail 'tof_beta > 0'
    matched = read_root(paths, "tracks", columns="pt", cut="tof_beta > 0")
    assert len(matched) == expected["tof_beta"].notna().sum()
    with pytest.raises(ValueError, match="cut 'pt' gives float32 values; it must give booleans"):
        read_root(paths, "tracks", cut="pt")


def test_missing_per_column_and_integer_column(tmp_path):
    data = pd.DataFrame(
        {
            "a": np.array([1.0, -1.0, -999.0]),
            "b": np.array([-1.0, 2.0, -999.0], dtype=np.float32),
            "n": np.array([3, -1, 5], dtype=np.int32),
        }
    )
    path = _write(tmp_path / "m.root", data, tree="t")
    df = read_root(path, "t", missing={"b": -1, "n": -1})
    np.testing.assert_array_equal(df["a"], [1.0, -1.0, -999.0])  # not named: untouched
    np.testing.assert_array_equal(df["b"], np.array([np.nan, 2.0, -999.0], dtype=np.float32))
    assert df["n"].dtype == np.float64  # named integer column: float, to hold NaN
    np.testing.assert_array_equal(df["n"], [3.0, np.nan, 5.0])
    with pytest.raises(
        ValueError, match=r"missing names column\(s\) \['zz'\].*columns: \['a', 'b', 'n'\]"
    ):
        read_root(path, "t", missing={"zz": -1})
    with pytest.raises(ValueError, match="must be a number"):
        read_root(path, "t", missing=float("nan"))


def test_iter_root_chunks(files):
    paths, _ = files
    chunks = list(iter_root(paths, "tracks", step_size=128, missing=SENTINEL))
    # a chunk never spans two files; the empty file gives none
    assert [len(c) for c in chunks] == [128, 128, 44, 128, 72]
    pd.testing.assert_frame_equal(pd.concat(chunks), read_root(paths, "tracks", missing=SENTINEL))
    with_cut = list(iter_root(paths, "tracks", step_size=128, columns=["pt"], cut="pt > 1"))
    pd.testing.assert_frame_equal(
        pd.concat(with_cut), read_root(paths, "tracks", columns=["pt"], cut="pt > 1")
    )


def test_iter_root_memory_step(files):
    paths, expected = files
    # 20 columns of 4 bytes: 80 bytes a row, so "8 kB" is about 100 rows
    chunks = list(iter_root(paths, "tracks", step_size="8 kB"))
    assert 3 < len(chunks) < 12 and max(len(c) for c in chunks) < 200
    assert sum(len(c) for c in chunks) == len(expected)


def test_dask_equals_pandas(files):
    dd = pytest.importorskip("dask.dataframe")
    paths, _ = files
    kwargs = dict(columns=["pt", "tof_beta", "pdg"], missing=SENTINEL)
    ddf = read_root(paths, "tracks", library="dask", step_size=128, **kwargs)
    assert isinstance(ddf, dd.DataFrame)
    assert ddf.npartitions == 5 and ddf.known_divisions
    pd.testing.assert_frame_equal(ddf.compute(), read_root(paths, "tracks", **kwargs))
    # one partition per file by default; the cut and the sentinel applied on compute
    lazy = read_root(paths, "tracks", library="dask", cut="pt > 1", **kwargs)
    assert lazy.npartitions == 2
    pd.testing.assert_frame_equal(
        lazy.compute(), read_root(paths, "tracks", cut="pt > 1", **kwargs)
    )
    assert lazy["tof_beta"].isna().sum().compute() > 0


def test_missing_tree_lists_the_trees(files, tmp_path):
    paths, _ = files
    with pytest.raises(ValueError, match=r"has no key 'events'; its TTrees: \['tracks'\]"):
        read_root(paths[0], "events")
    with uproot.recreate(tmp_path / "h.root") as file:
        file["hist"] = np.histogram([1.0, 2.0])
        file.mktree("t", {"x": "f8"})
    with pytest.raises(ValueError, match=r"holds a TH1D under 'hist'; its TTrees: \['t'\]"):
        read_root(tmp_path / "h.root", "hist")
    with pytest.raises(ValueError, match="has no key"):  # also before any iteration
        iter_root(paths, "events")


def test_missing_branch_lists_the_branches(files):
    paths, _ = files
    with pytest.raises(ValueError, match=r"has no branch \['tof'\]; its branches: \['px', 'py'"):
        read_root(paths, "tracks", columns=["pt", "tof"])
    with pytest.raises(ValueError, match=r"cut 'tof > 0' names 'tof'.*its branches: \['px'"):
        read_root(paths, "tracks", cut="tof > 0")
    with pytest.raises(ValueError, match="has no branch"):
        read_root(paths, "tracks", columns=["tof"], library="dask")
    with pytest.raises(
        ValueError, match=r"no branch \['tof_bta'\]; its branches: close matches: \['tof_beta'\]"
    ):
        read_root(paths, "tracks", columns=["tof_bta"])


def test_missing_file(files, tmp_path):
    with pytest.raises(FileNotFoundError, match="No file matches the pattern"):
        read_root(str(tmp_path / "nothing*.root"), "tracks")
    with pytest.raises(FileNotFoundError, match="No such file"):
        read_root([files[0][0], tmp_path / "gone.root"], "tracks")


def test_jagged_branch_is_refused_by_name(tmp_path):
    path = tmp_path / "jagged.root"
    with uproot.recreate(path) as file:
        ttree = file.mktree("t", {"pt": "f8", "hits": "var * float32", "xyz": ("f8", (3,))})
        ttree.extend(
            {
                "pt": np.array([1.0, 2.0]),
                "hits": ak.Array([[1.0, 2.0], []]),
                "xyz": np.zeros((2, 3)),
            }
        )
    with pytest.raises(
        ValueError, match=r"hits \(float\[\]\).*more than one value per entry.*ak.pad_none"
    ):
        read_root(path, "t", columns=["pt", "hits"])
    with pytest.raises(ValueError, match=r"xyz \(double\[3\]\)"):
        read_root(path, "t", columns=["xyz"])
    with pytest.raises(ValueError, match=r"hits.*xyz.*columns=None reads every branch"):
        read_root(path, "t")
    # the flat branches (the counter uproot writes for 'hits' too) read as usual
    df = read_root(path, "t", columns=["pt", "nhits"])
    assert df["nhits"].tolist() == [2, 0]


def test_estimator_on_read_root(files):
    from skhep_ml import FSEAttentionClassifier
    from skhep_ml.estimator_checks import FAST_PARAMS

    paths, _ = files
    features = ["pt", *(f"nsigma_{d}_{s}" for d in ("tpc", "tof") for s in ("pi", "ka", "pr"))]
    df = read_root(paths, "tracks", columns=[*features, "pdg"], missing=SENTINEL)
    X, y = df[features], df["pdg"].abs()
    params = {**FAST_PARAMS["FSEAttentionClassifier"], "max_epochs": 5, "random_state": 0}
    clf = FSEAttentionClassifier(**params).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(df), 4) and np.isfinite(proba).all()
    assert clf.score(X, y) > 0.8  # pions alone are 72 % of the tracks
