"""Serving a trained bundle: the input contract of one raw row, the compiled row path, the HTTP endpoint,
captured traffic and the registry of running endpoints.

Qt-free and standard-library only at import time (numpy, pandas and scikit-learn load with the model).
`contract` (what a raw row must look like, checked before anything reaches scikit-learn), `payload` (MLflow
and Open Inference Protocol request bodies to columns), `compiled` (the recipe as plain per-row operations),
`scorer` (compiled path or `TrainedModel.score`, and the start-up self-test), `server` (the HTTP endpoint),
`capture` (Parquet partitions of what was received and answered), `endpoints` (running endpoints).
"""
