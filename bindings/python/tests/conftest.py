"""Fixtures for the jobstate package's tests.

Run through ctest (python_tests), which puts the built package on
PYTHONPATH; by hand:
    PYTHONPATH=<build>/bindings/python/package /usr/bin/python3 -m pytest -q bindings/python/tests
"""

import shutil

import pytest

import jobstate

ACCOUNT = "acme"
PROJECT = "alpha"


@pytest.fixture(autouse=True)
def _free_disk_after_each_test(tmp_path):
    """Removes the test's databases once it is done (torn down after the
    fixtures that close them): each reserves its map on disk, 64 MiB by
    default, and a run opens hundreds."""
    yield
    shutil.rmtree(tmp_path, ignore_errors=True)


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "db"


@pytest.fixture
def engine(db_path):
    with jobstate.Engine(db_path, durability="no_sync") as e:
        yield e


@pytest.fixture
def make_job(engine):
    """make_job(kind="work", input=None, **kwargs) -> a new pending Job."""

    def make(kind="work", input=None, **kwargs):
        return engine.create(ACCOUNT, PROJECT, kind, input, **kwargs)

    return make


@pytest.fixture
def running_job(engine, make_job):
    job = make_job()
    return engine.start(job)
