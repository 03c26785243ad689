"""Typed shapes of the raw Metacontroller payloads (hook version v2).

These describe unparsed JSON as it arrives; ``Raw`` in a name says nothing
has been checked yet. ``request.py`` turns them into domain values.
"""

from __future__ import annotations

from typing import Any, TypedDict

RawObject = dict[str, Any]
# {"Kind.group/version": {"namespace/name" or "name": object}}
RawObjectMap = dict[str, dict[str, RawObject]]


class RawSyncRequest(TypedDict, total=False):
    controller: RawObject
    parent: RawObject
    children: RawObjectMap
    related: RawObjectMap
    finalizing: bool


class RawCustomizeRequest(TypedDict, total=False):
    controller: RawObject
    parent: RawObject


class RawSyncResponse(TypedDict, total=False):
    status: dict[str, Any]
    children: list[RawObject]
    resyncAfterSeconds: float
    finalized: bool


class RawRelatedRule(TypedDict, total=False):
    apiVersion: str
    resource: str
    names: list[str]
    namespace: str
    labelSelector: dict[str, Any]
