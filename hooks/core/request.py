"""Turn raw Metacontroller requests into checked domain values.

A request that is not a Metacontroller request at all raises
``RequestError``; the app answers it with a 400. A well-formed request
whose object is wrong is not an error here: the object's spec is checked
later and reported in its status.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

GROUP = "kafkaaccess.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"


class RequestError(ValueError):
    """A request the hook cannot understand; answered with HTTP 400."""


@dataclass(frozen=True)
class Parent:
    """The parent object of a hook call, with its spec and status unparsed."""

    kind: str
    name: str
    namespace: str | None
    generation: int | None
    uid: str | None
    spec: Mapping[str, Any]
    status: Mapping[str, Any]
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclass(frozen=True)
class SyncRequest:
    parent: Parent
    children: Mapping[str, Mapping[str, Any]]
    related: Mapping[str, Mapping[str, Any]]
    finalizing: bool

    def related_object(self, group_key: str, key: str) -> Mapping[str, Any] | None:
        """Return one related object by ``Kind.group/version`` and key, or None."""
        found = self.related.get(group_key, {}).get(key)
        return found if isinstance(found, Mapping) else None

    def children_of(self, group_key: str) -> Mapping[str, Any]:
        found = self.children.get(group_key, {})
        return found if isinstance(found, Mapping) else {}


def parse_parent(body: object, kind: str) -> Parent:
    """Check that ``body`` carries a ``parent`` of the expected kind."""
    if not isinstance(body, Mapping):
        raise RequestError(f"expected a JSON object from Metacontroller, got {type(body).__name__}")
    parent = body.get("parent")
    if not isinstance(parent, Mapping):
        raise RequestError("the request has no 'parent' object; is this Metacontroller?")
    found_kind = parent.get("kind")
    if found_kind != kind:
        raise RequestError(f"this hook serves {kind}, but the parent is {found_kind!r}")
    api_version = parent.get("apiVersion")
    if api_version != API_VERSION:
        raise RequestError(f"expected apiVersion {API_VERSION}, got {api_version!r}")
    meta = parent.get("metadata")
    if not isinstance(meta, Mapping) or not isinstance(meta.get("name"), str):
        raise RequestError("the parent has no metadata.name")
    spec = parent.get("spec") or {}
    status = parent.get("status") or {}
    labels = meta.get("labels") or {}
    if not isinstance(spec, Mapping) or not isinstance(status, Mapping):
        raise RequestError("the parent's spec and status must be objects")
    generation = meta.get("generation")
    namespace = meta.get("namespace")
    return Parent(
        kind=kind,
        name=meta["name"],
        namespace=namespace if isinstance(namespace, str) and namespace else None,
        generation=generation if isinstance(generation, int) else None,
        uid=meta.get("uid") if isinstance(meta.get("uid"), str) else None,
        spec=spec,
        status=status,
        labels=labels if isinstance(labels, Mapping) else {},
    )


def parse_sync(body: object, kind: str) -> SyncRequest:
    """Parse a sync or finalize request (hook version v2)."""
    parent = parse_parent(body, kind)
    assert isinstance(body, Mapping)
    children = _object_map(body.get("children"), "children")
    related = _object_map(body.get("related"), "related")
    finalizing = body.get("finalizing", False)
    if not isinstance(finalizing, bool):
        raise RequestError("'finalizing' must be true or false")
    return SyncRequest(parent, children, related, finalizing)


def _object_map(value: object, name: str) -> Mapping[str, Mapping[str, Any]]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(group, Mapping) for group in value.values()
    ):
        raise RequestError(
            f"'{name}' must map 'Kind.group/version' to objects keyed by name (hook version v2)"
        )
    return value


def secret_data(secret: Mapping[str, Any] | None, keys: tuple[str, ...]) -> dict[str, str]:
    """Decode the named keys of a Secret's ``data``; missing keys are left out.

    Raises ``ValueError`` naming the key (never its value) when one is not
    base64 text.
    """
    data = (secret or {}).get("data") or {}
    out = {}
    for key in keys:
        raw = data.get(key) if isinstance(data, Mapping) else None
        if not isinstance(raw, str) or not raw:
            continue
        try:
            out[key] = base64.b64decode(raw, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as error:
            raise ValueError(f"key {key!r} of the Secret is not base64 text") from error
    return out
