"""Grading beyond one machine, for real: the execute step on a Dask ``distributed`` cluster.

A local cluster of two worker processes (no network beyond loopback) runs ``execute_job``
through ``client.get_executor()``; the grades must equal those of the local process pool on
the same class. ``distributed`` is the optional extra ``cluster``; without it this skips.
"""

from __future__ import annotations

import pytest

from autograder import submissions as subs
from autograder.grade import grade
from autograder.sandbox import probe
from autograder.score import autograded_total

distributed = pytest.importorskip("distributed", reason="the optional extra `cluster` (dask distributed)")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(bool(probe()), reason=f"no sandbox here: {probe()}")]

LESSON = "02_activations"


def test_a_dask_cluster_grades_like_the_process_pool(course, tmp_path):
    sub_dir = tmp_path / "s"
    subs.write(subs.learner_notebook(course, LESSON), sub_dir, "ada", LESSON)
    subs.write(subs.learner_notebook(course, LESSON, untouched=True), sub_dir, "ben", LESSON)
    subs.write(subs.learner_notebook(course, LESSON, {"sigmoid": subs.DEMO_MISTAKES["sigmoid"]}), sub_dir, "cy",
               LESSON)
    pool = grade(course, sub_dir, tmp_path / "pool", [LESSON], workers=2, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        dask = grade(course, sub_dir, tmp_path / "dask", [LESSON], progress=False, executor=client.get_executor())
    assert [(r.student_id, r.score, r.max_score) for r in dask] == [(r.student_id, r.score, r.max_score) for r in pool]
    assert [[(i.name, i.score, i.status) for i in r.items] for r in dask] == \
           [[(i.name, i.score, i.status) for i in r.items] for r in pool]
    by = {r.student_id: r for r in dask}
    assert by["ada"].score == autograded_total(by["ada"].items)[1] > 0 and by["ben"].score == 0
    assert 0 < by["cy"].score < by["cy"].max_score
