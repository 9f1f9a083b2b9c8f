"""Drive a local Label Studio through label-studio-sdk: project from config.xml, import tasks.json,
annotate a few tasks as two users would, export the project as Label Studio JSON.

Usage (server already running on loopback, token from LABEL_STUDIO_USER_TOKEN):
    python ls_round_trip.py BATCH_DIR EXPORT.json
Run with the Python that has label-studio-sdk; it does not import warta.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from label_studio_sdk import LabelStudio
from label_studio_sdk.label_interface import LabelInterface

URL = os.environ.get("LABEL_STUDIO_URL", "http://127.0.0.1:8089")


def choices(layer: str, label: str) -> dict:
    return {"from_name": layer, "to_name": "text", "type": "choices", "value": {"choices": [label]}}


def main(batch: Path, export: Path) -> None:
    config = (batch / "config.xml").read_text(encoding="utf-8")
    tasks = json.loads((batch / "tasks.json").read_text(encoding="utf-8"))
    interface = LabelInterface(config)  # the SDK's own parser: every prediction must fit the config
    bad = [t["data"]["id"] for t in tasks for p in t.get("predictions", []) if not interface.validate_prediction(p)]
    print(f"config parsed: controls {sorted(interface._controls)}; predictions invalid: {bad}")

    client = LabelStudio(base_url=URL, api_key=os.environ["LABEL_STUDIO_USER_TOKEN"])
    project = client.projects.create(title="warta round trip", label_config=config)
    print(f"project {project.id} created")
    imported = client.projects.import_tasks(id=project.id, request=tasks, return_task_ids=True)
    print(f"imported: task_count={imported.task_count} prediction_count={imported.prediction_count}")
    listed = list(client.tasks.list(project=project.id))
    by_warta_id = {t.data["id"]: t for t in listed}
    me = client.users.whoami()
    other = next((u for u in client.users.list() if u.email == "second@warta.local"), None) or client.users.create(
        email="second@warta.local", username="second", first_name="Second")
    ids = [t["data"]["id"] for t in tasks]
    # annotator 1 labels three sentences (one with a note); annotator 2 double-labels the first two,
    # agreeing on the first and disagreeing on the stance of the second (a conflict the import must report)
    plan = [
        (ids[0], me.id, ("fact", "neutral", "none"), None),
        (ids[1], me.id, ("quote", "against", "human_interest"), "reported speech: menuturkan"),
        (ids[2], me.id, ("fact", "neutral", "none"), None),
        (ids[0], other.id, ("fact", "neutral", "none"), None),
        (ids[1], other.id, ("quote", "neutral", "human_interest"), None),
    ]
    for warta_id, user, (kind, stance, frame), note in plan:
        result = [choices("type", kind), choices("stance", stance), choices("frame", frame)]
        if note:
            result.append({"from_name": "note", "to_name": "text", "type": "textarea", "value": {"text": [note]}})
        made = client.annotations.create(id=by_warta_id[warta_id].id, result=result, completed_by=user)
        print(f"annotation {made.id} on task {by_warta_id[warta_id].id} ({warta_id}) by user {user}")
    data = b"".join(client.projects.exports.download_sync(project.id, export_type="JSON"))
    export.write_bytes(data)
    exported = json.loads(data)
    print(f"exported {len(exported)} annotated tasks to {export}")
    print("first exported annotation:", json.dumps(
        {k: exported[0]["annotations"][0].get(k) for k in ("completed_by", "created_at", "updated_at", "was_cancelled")}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
