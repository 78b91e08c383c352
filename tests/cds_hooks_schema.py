"""JSON Schemas of the CDS Hooks 2.0 shapes the service answers with, written from the
specification (HL7 CDS Hooks 2.0, https://cds-hooks.hl7.org/2.0/; source
github.com/HL7/cds-hooks tag v2.0.1, input/pagecontent/index.md): "Discovery" (the
service list), "CDS Service Response" (cards), "Card Attributes", "Source", "Link",
"Suggestion", "Coding".

The specification's JSON rules are kept: "JSON elements SHALL NOT be null, unless otherwise
specified" and "SHALL NOT be empty" (so no ``null``, ``""``, ``[]`` or ``{}``), OPTIONAL
attributes omitted rather than empty, ``summary`` a "<140-character" sentence,
``indicator`` one of ``info``, ``warning``, ``critical``, a Link's ``type`` ``absolute`` or
``smart``, ``selectionBehavior`` required when there are suggestions. Unknown attributes
are refused except ``extension`` (the specification's reserved name), so a misspelt one
fails the test.
"""

from __future__ import annotations

from typing import Any

TEXT: dict[str, Any] = {"type": "string", "minLength": 1}
URL: dict[str, Any] = {"type": "string", "minLength": 1, "format": "uri",
                       "pattern": "^https?://"}
EXTENSION: dict[str, Any] = {"type": "object", "minProperties": 1}

CODING: dict[str, Any] = {
    "type": "object", "required": ["code", "system"],
    "properties": {"code": TEXT, "system": TEXT, "display": TEXT},
    "additionalProperties": False}

SOURCE: dict[str, Any] = {
    "type": "object", "required": ["label"],
    "properties": {"label": TEXT, "url": URL, "icon": URL, "topic": CODING},
    "additionalProperties": False}

LINK: dict[str, Any] = {
    "type": "object", "required": ["label", "url", "type"],
    "properties": {"label": TEXT, "url": URL, "type": {"enum": ["absolute", "smart"]},
                   "appContext": TEXT, "autolaunchable": {"type": "boolean"}},
    "additionalProperties": False}

ACTION: dict[str, Any] = {
    "type": "object", "required": ["type", "description"],
    "properties": {"type": {"enum": ["create", "update", "delete"]}, "description": TEXT,
                   "resource": {"type": "object", "minProperties": 1},
                   "resourceId": TEXT},
    "additionalProperties": False}

SUGGESTION: dict[str, Any] = {
    "type": "object", "required": ["label"],
    "properties": {"label": TEXT, "uuid": TEXT, "isRecommended": {"type": "boolean"},
                   "actions": {"type": "array", "minItems": 1, "items": ACTION}},
    "additionalProperties": False}

CARD: dict[str, Any] = {
    "type": "object", "required": ["summary", "indicator", "source"],
    "properties": {
        "uuid": TEXT,
        "summary": {"type": "string", "minLength": 1, "maxLength": 139},
        "detail": TEXT,
        "indicator": {"enum": ["info", "warning", "critical"]},
        "source": SOURCE,
        "suggestions": {"type": "array", "minItems": 1, "items": SUGGESTION},
        "selectionBehavior": {"enum": ["at-most-one", "any"]},
        "overrideReasons": {"type": "array", "minItems": 1,
                            "items": {**CODING, "required": ["code", "system", "display"]}},
        "links": {"type": "array", "minItems": 1, "items": LINK},
        "extension": EXTENSION},
    "dependentRequired": {"suggestions": ["selectionBehavior"]},
    "additionalProperties": False}

RESPONSE: dict[str, Any] = {
    "type": "object", "required": ["cards"],
    "properties": {"cards": {"type": "array", "items": CARD},
                   "systemActions": {"type": "array", "minItems": 1, "items": ACTION},
                   "extension": EXTENSION},
    "additionalProperties": False}

SERVICE: dict[str, Any] = {
    "type": "object", "required": ["hook", "description", "id"],
    "properties": {"hook": TEXT, "title": TEXT, "description": TEXT, "id": TEXT,
                   "prefetch": {"type": "object", "minProperties": 1,
                                "additionalProperties": TEXT},
                   "usageRequirements": TEXT, "extension": EXTENSION},
    "additionalProperties": False}

DISCOVERY: dict[str, Any] = {
    "type": "object", "required": ["services"],
    "properties": {"services": {"type": "array", "items": SERVICE}},
    "additionalProperties": False}
