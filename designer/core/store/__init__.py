"""Run history, data versions, lineage and a model registry in one embedded SQLite file.

Qt-free and standard-library only (the desktop app and the CLI both use it). One module per concern:
`location` (where a store lives), `records` (what it holds), `process` (is a run's process alive),
`database` (the SQLite file: schema, migrations, transactions), `runs` (`RunStore`: recording and reading
runs), `models` (the model registry), `datasets` (the data set registry), `compare` (what differs between
two runs).
"""

from __future__ import annotations

from designer.core.store.compare import compare_runs
from designer.core.store.database import MIGRATIONS, SCHEMA_VERSION
from designer.core.store.datasets import COPY, REFERENCE, DatasetRecord, check_dataset_name, object_name
from designer.core.store.errors import StoreError
from designer.core.store.location import (DATASETS_DIR, DEFAULT_TIMEOUT, ENV_STORE, ENV_TIMEOUT, MODELS_DIR, STORE_DIR,
                                          STORE_FILE, find_store, store_file, store_for_pipeline, timeout_from_env)
from designer.core.store.models import MODEL_NAME, parse_model_ref, read_bundle_manifest
from designer.core.store.process import git_commit_of, pid_alive, process_token
from designer.core.store.records import (BUNDLE_SUFFIX, CANCELLED, FAILED, INTERRUPTED, RUNNING, STATUSES, SUCCEEDED,
                                         ModelRecord, RunRecord, artifact_record, data_key, data_label, flat_metrics,
                                         flat_params, local_time, new_run_id, now_iso, parse_iso, same_value)
from designer.core.store.runs import RunStore, open_for_pipeline, open_found

__all__ = ["RunStore", "RunRecord", "ModelRecord", "StoreError", "compare_runs", "find_store", "store_for_pipeline",
           "store_file", "open_for_pipeline", "open_found", "artifact_record", "flat_metrics", "flat_params",
           "new_run_id", "pid_alive", "git_commit_of", "parse_model_ref", "read_bundle_manifest", "STATUSES",
           "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", "INTERRUPTED", "SCHEMA_VERSION", "MIGRATIONS",
           "STORE_DIR", "STORE_FILE", "MODELS_DIR", "ENV_STORE", "ENV_TIMEOUT", "DEFAULT_TIMEOUT", "BUNDLE_SUFFIX",
           "MODEL_NAME", "timeout_from_env", "process_token", "local_time", "now_iso", "parse_iso", "same_value",
           "data_key", "data_label", "DatasetRecord", "COPY", "REFERENCE", "DATASETS_DIR", "check_dataset_name",
           "object_name"]
