"""Does nbgrader's gradebook work on a real PostgreSQL server?

A throwaway cluster (tests/postgres.py, Debian's postgresql) and a fresh database per test:
nbgrader creates its tables there, records an assignment, a notebook and a student, and a
second Gradebook on the same URL reads them back.
"""
import os
import sys
from pathlib import Path

from nbgrader.api import Gradebook
from sqlalchemy import create_engine, inspect


def test_gradebook_round_trip_on_postgres(postgres_url, monkeypatch):
    # an empty database makes nbgrader run `alembic` as a subprocess: this venv's bin comes first
    bindir = Path(sys.executable).parent
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    assert postgres_url.startswith("postgresql+psycopg://")

    with Gradebook(postgres_url) as gb:
        gb.add_assignment("rnn_architecture")
        gb.add_notebook("exploding_gradients", "rnn_architecture")
        gb.add_student("alice", first_name="Alice", last_name="Liddell")

    engine = create_engine(postgres_url)
    try:
        assert engine.dialect.name == "postgresql"
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"assignment", "notebook", "student", "alembic_version"} <= tables

    with Gradebook(postgres_url) as gb:
        assert [a.name for a in gb.assignments] == ["rnn_architecture"]
        notebook = gb.find_notebook("exploding_gradients", "rnn_architecture")
        assert notebook.assignment.name == "rnn_architecture"
        student = gb.find_student("alice")
        assert (student.first_name, student.last_name) == ("Alice", "Liddell")
        assert [s.id for s in gb.students] == ["alice"]


def test_each_test_gets_an_empty_database(postgres_url, postgres):
    """The fixture's database is new (no tables) and lives in the session's cluster."""
    engine = create_engine(postgres_url)
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()
    assert f"host={postgres.sockdir}" in postgres_url
