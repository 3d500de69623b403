"""The Dask side of dkrun.

``dkrun_dask.driver`` runs one flow on a Dask cluster for the dkrun executable;
``dkrun_dask.shim`` holds the functions every Dask task runs on a worker, which hand
the task to a long-lived ``dkrun worker --stdio`` process.
"""
