"""The JSON Schema of the workflow language, exported from the pydantic models.

Editors use it for completion and validation (`# yaml-language-server: $schema=...`). It
checks shape only; `conductor validate` also checks references, flow and templates.
"""

from __future__ import annotations

import json
from typing import Any

from bot.definitions.workflow import Workflow


def workflow_json_schema() -> dict[str, Any]:
    schema = Workflow.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **schema,
    }


def workflow_json_schema_text() -> str:
    return json.dumps(workflow_json_schema(), indent=2, sort_keys=True) + "\n"
