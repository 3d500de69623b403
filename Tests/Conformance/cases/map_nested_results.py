"""Mapping over a list of dicts, children returning dicts and lists, a reduce collecting them
(test_task_map.py: NestTask, with dict records)."""
from prefect import Flow, task


@task(name="records")
def records():
    return [{"id": 1, "tags": ["a"]}, {"id": 2, "tags": []}, {"id": 3, "tags": ["b", "c"]}]


@task(name="enrich")
def enrich(record):
    return {"id": record["id"], "n_tags": len(record["tags"]), "tags": record["tags"]}


@task(name="nest")
def nest(record):
    return [record["id"], [record["id"] * 10]]


@task(name="gather")
def gather(enriched, nested):
    return {"ids": [r["id"] for r in enriched], "nested": nested}


with Flow("map_nested_results") as flow:
    recs = records()
    gather(enrich.map(recs), nest.map(recs))
