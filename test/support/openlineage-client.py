"""Builds each OpenLineage event read from stdin (a line of JSON each) with the event and facet
classes of the openlineage-python client, which check what they are given (a UUID runId, an
ISO 8601 eventTime with a time, the fields each facet requires), then serialises it back with
the client's Serde and compares: nothing may be lost or changed on the way. Exit 0: all taken;
1: an event was refused or changed (said on stderr); 3: openlineage-python is not installed."""

import json
import sys

try:
    from openlineage.client import facet_v2
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
    from openlineage.client.facet_v2 import (
        dataset_version_dataset,
        error_message_run,
        input_statistics_input_dataset,
        job_type_job,
        nominal_time_run,
        output_statistics_output_dataset,
        parent_run,
        processing_engine_run,
    )
    from openlineage.client.serde import Serde
except ImportError as error:
    print(f"openlineage-python is not installed ({error})", file=sys.stderr)
    sys.exit(3)


def parent(fields):
    run, job, root = fields["run"], fields["job"], fields.get("root")
    return parent_run.ParentRunFacet(
        run=parent_run.Run(runId=run["runId"]),
        job=parent_run.Job(namespace=job["namespace"], name=job["name"]),
        root=root
        and parent_run.Root(
            run=parent_run.RootRun(runId=root["run"]["runId"]),
            job=parent_run.RootJob(namespace=root["job"]["namespace"], name=root["job"]["name"]),
        ),
    )


# The standard facets etl-ledger sends, by key: the client's class for each.
STANDARD = {
    "parent": parent,
    "errorMessage": lambda f: error_message_run.ErrorMessageRunFacet(**f),
    "nominalTime": lambda f: nominal_time_run.NominalTimeRunFacet(**f),
    "processing_engine": lambda f: processing_engine_run.ProcessingEngineRunFacet(**f),
    "jobType": lambda f: job_type_job.JobTypeJobFacet(**f),
    "version": lambda f: dataset_version_dataset.DatasetVersionDatasetFacet(**f),
    "inputStatistics": lambda f: input_statistics_input_dataset.InputStatisticsInputDatasetFacet(**f),
    "outputStatistics": lambda f: output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(**f),
}


def facets(given, base):
    """The facets as the client's objects: a standard one by its class, a custom one as `base` with its fields."""
    built = {}
    for key, value in (given or {}).items():
        fields = {k: v for k, v in value.items() if k not in ("_producer", "_schemaURL")}
        if key in STANDARD:
            built[key] = STANDARD[key](fields)
        else:
            built[key] = base().with_additional_properties(**fields)
        built[key]._producer = value["_producer"]
    return built


def event_of(data):
    return RunEvent(
        eventType=RunState[data["eventType"]],
        eventTime=data["eventTime"],
        run=Run(runId=data["run"]["runId"], facets=facets(data["run"].get("facets"), facet_v2.RunFacet)),
        job=Job(
            namespace=data["job"]["namespace"],
            name=data["job"]["name"],
            facets=facets(data["job"].get("facets"), facet_v2.JobFacet),
        ),
        inputs=[
            InputDataset(
                namespace=d["namespace"],
                name=d["name"],
                facets=facets(d.get("facets"), facet_v2.DatasetFacet),
                inputFacets=facets(d.get("inputFacets"), facet_v2.InputDatasetFacet),
            )
            for d in data["inputs"]
        ],
        outputs=[
            OutputDataset(
                namespace=d["namespace"],
                name=d["name"],
                facets=facets(d.get("facets"), facet_v2.DatasetFacet),
                outputFacets=facets(d.get("outputFacets"), facet_v2.OutputDatasetFacet),
            )
            for d in data["outputs"]
        ],
        producer=data["producer"],
    )


def without_schema_urls(value):
    """The client writes its own _schemaURL for each facet (its version of the spec): compared apart."""
    if isinstance(value, dict):
        return {k: without_schema_urls(v) for k, v in value.items() if k != "_schemaURL" and v != {}}
    if isinstance(value, list):
        return [without_schema_urls(v) for v in value]
    return value


count = 0
for line in sys.stdin:
    if not line.strip():
        continue
    data = json.loads(line)
    try:
        event = event_of(data)
    except Exception as error:  # noqa: BLE001 - any refusal is the answer
        print(f"refused: {type(error).__name__}: {error}\n{line}", file=sys.stderr)
        sys.exit(1)
    back = json.loads(Serde.to_json(event))
    if without_schema_urls(back) != without_schema_urls(data):
        print(f"changed:\n{json.dumps(back, sort_keys=True)}\n{json.dumps(data, sort_keys=True)}", file=sys.stderr)
        sys.exit(1)
    if back["schemaURL"] != data["schemaURL"]:
        print(f"note: the client's event schema is {back['schemaURL']}", file=sys.stderr)
    count += 1
print(f"{count} events taken by openlineage-python")
