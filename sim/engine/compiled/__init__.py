"""The compiled engine: one fused pass per replication, compiled with numba.

`streams` holds the random numbers (Philox, keyed by seed, replication and purpose) and the
samplers; `tables` turns a scenario into the plain arrays the kernel reads; `kernel` draws,
routes, queues and bins every metric of one replication in one pass, and runs a chunk of
replications across threads. Nothing here imports pandas: every worker loads this layer.
"""
