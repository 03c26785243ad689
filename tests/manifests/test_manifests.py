"""Checks of the YAML kafka-access ships: CRDs, Metacontroller wiring, examples.

Nothing here needs a cluster or the network. The CRD schemas are turned into
JSON Schema the way the API server reads them (unknown fields rejected, as
kubectl's strict field validation does), with the few CEL rules the CRDs
carry mirrored by Python functions.
"""

import copy
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
YAML_DIRS = ("crds", "metacontroller", "examples", "compositions")
GROUP = "kafkaaccess.io"
VERSION = "v1alpha1"
OPERATOR_NAMESPACE = "kafka-access"
HOOK_BASE_URL = "http://kafka-access.kafka-access.svc.cluster.local"
PART_OF = {"app.kubernetes.io/part-of": "kafka-access"}

# Core resources a controller may name besides the CRDs (apiVersion, plural).
CORE_RESOURCES = {
    ("v1", "secrets"),
    ("v1", "configmaps"),
    ("v1", "namespaces"),
    ("v1", "services"),
    ("v1", "serviceaccounts"),
}


def _yaml_files() -> list[Path]:
    files: list[Path] = []
    for folder in YAML_DIRS:
        root = REPO / folder
        if root.is_dir():
            files += [*root.rglob("*.yaml"), *root.rglob("*.yml")]
    return sorted(files)


def _load(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc is not None]


def _docs(folder: str, kind: str) -> list[dict[str, Any]]:
    docs = []
    for path in _yaml_files():
        if path.relative_to(REPO).parts[0] == folder:
            docs += [doc for doc in _load(path) if doc.get("kind") == kind]
    return docs


CRDS = {crd["spec"]["names"]["kind"]: crd for crd in _docs("crds", "CustomResourceDefinition")}
CONTROLLERS = _docs("metacontroller", "CompositeController")
EXAMPLES = [
    pytest.param(doc, id=f"{path.name}:{doc['metadata']['name']}")
    for folder in ("examples", "compositions")
    for path in sorted((REPO / folder).glob("*.yaml"))
    for doc in _load(path)
]


def _version(crd: dict[str, Any]) -> dict[str, Any]:
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == VERSION]
    return version


def _schema(kind: str) -> dict[str, Any]:
    return _version(CRDS[kind])["schema"]["openAPIV3Schema"]


def _walk(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema node below and including node, with a readable path."""
    yield path or "<root>", node
    for name, child in node.get("properties", {}).items():
        yield from _walk(child, f"{path}.{name}")
    if isinstance(node.get("additionalProperties"), dict):
        yield from _walk(node["additionalProperties"], f"{path}.*")
    if "items" in node:
        yield from _walk(node["items"], f"{path}[]")


# --- CEL rules ---------------------------------------------------------------
# The API server evaluates these; the tests need a Python twin of each. A rule
# added to a CRD without a twin fails test_every_cel_rule_has_a_python_twin.

CEL_TWINS: dict[str, Callable[[Any], bool]] = {
    "has(self.bootstrapServers) != has(self.msk)": (
        lambda spec: ("bootstrapServers" in spec) != ("msk" in spec)
    ),
    "self != '.' && self != '..'": lambda name: name not in (".", ".."),
    "has(self.principal) != has(self.principalFrom)": (
        lambda spec: ("principal" in spec) != ("principalFrom" in spec)
    ),
    "self.type == 'Cluster' || has(self.name)": (
        lambda resource: resource.get("type") == "Cluster" or "name" in resource
    ),
}


def _check_cel(validator, rules, instance, schema):
    if not validator.is_type(instance, schema.get("type", "object")):
        return  # the type error is reported on its own
    for rule in rules:
        twin = CEL_TWINS.get(rule["rule"])
        if twin is None:
            yield jsonschema.ValidationError(f"no Python twin for CEL rule {rule['rule']!r}")
        elif not twin(instance):
            yield jsonschema.ValidationError(rule.get("message", rule["rule"]))


def _check_int_or_string(validator, enabled, instance, schema):
    if enabled and (isinstance(instance, bool) or not isinstance(instance, int | str)):
        yield jsonschema.ValidationError(f"{instance!r} is neither an integer nor a string")


def _check_list_type(validator, list_type, instance, schema):
    if not isinstance(instance, list):
        return
    if list_type == "set":
        keys = [repr(item) for item in instance]
    elif list_type == "map":
        names = schema["x-kubernetes-list-map-keys"]
        keys = [repr([item.get(name) for name in names]) for item in instance]
    else:
        return
    if len(keys) != len(set(keys)):
        yield jsonschema.ValidationError(f"{instance!r} has duplicate entries ({list_type})")


KubeValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    {
        "x-kubernetes-validations": _check_cel,
        "x-kubernetes-int-or-string": _check_int_or_string,
        "x-kubernetes-list-type": _check_list_type,
    },
)


def _strict(node: dict[str, Any]) -> dict[str, Any]:
    """A copy of an OpenAPI schema in which unknown fields are errors."""
    node = copy.deepcopy(node)
    for _, each in _walk(node):
        if "properties" in each and "additionalProperties" not in each:
            if not each.get("x-kubernetes-preserve-unknown-fields"):
                each["additionalProperties"] = False
    return node


def _errors(obj: dict[str, Any]) -> list[str]:
    validator = KubeValidator(_strict(_schema(obj["kind"])))
    return [
        f"{'.'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in validator.iter_errors(obj)
    ]


# --- YAML and kustomizations -------------------------------------------------


@pytest.mark.parametrize("path", _yaml_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_yaml_parses_into_kubernetes_objects(path):
    docs = _load(path)

    assert docs, f"{path} holds no YAML document"
    for doc in docs:
        assert isinstance(doc, dict), f"{path}: a document is a {type(doc).__name__}"
        assert doc.get("apiVersion") and doc.get("kind"), f"{path}: apiVersion or kind missing"


@pytest.mark.parametrize("folder", ["crds", "metacontroller"])
def test_kustomization_lists_every_manifest_and_only_existing_files(folder):
    root = REPO / folder
    (kustomization,) = _load(root / "kustomization.yaml")
    listed = kustomization["resources"]

    for entry in listed:
        assert (root / entry).exists(), f"{folder}/kustomization.yaml lists missing {entry}"
    manifests = {p.name for p in root.glob("*.yaml")} - {"kustomization.yaml"}
    assert manifests <= set(listed), (
        f"not in {folder}/kustomization.yaml: {manifests - set(listed)}"
    )


def test_metacontroller_kustomization_installs_the_crds():
    (kustomization,) = _load(REPO / "metacontroller" / "kustomization.yaml")

    assert "../crds" in kustomization["resources"]


# --- CRDs ----------------------------------------------------------------------

EXPECTED_CRDS = [
    # kind, scope, short name, printer columns
    ("KafkaCluster", "Cluster", "kc", ["Ready", "Brokers", "Principal", "Age"]),
    ("KafkaTopic", "Namespaced", "kt", ["Topic", "Ready", "Synced", "Partitions", "Age"]),
    ("KafkaACL", "Namespaced", "kacl", ["Principal", "Resource", "Ready", "Synced", "Age"]),
    (
        "KafkaAccess",
        "Namespaced",
        "ka",
        ["Composition", "Principal", "Children", "Ready", "Synced", "Age"],
    ),
    ("KafkaComposition", "Cluster", "kcomp", ["Default", "Cluster", "Age"]),
]
PLURALS = {"KafkaAccess": "kafkaaccesses"}


@pytest.mark.parametrize(("kind", "scope", "short_name", "columns"), EXPECTED_CRDS)
def test_crd_names_scope_columns_and_status(kind, scope, short_name, columns):
    crd = CRDS[kind]
    names = crd["spec"]["names"]
    version = _version(crd)

    assert crd["metadata"]["name"] == f"{names['plural']}.{GROUP}"
    assert crd["metadata"]["labels"].items() >= PART_OF.items()
    assert crd["spec"]["group"] == GROUP
    assert crd["spec"]["scope"] == scope
    assert names["plural"] == PLURALS.get(kind, kind.lower() + "s")
    assert short_name in names["shortNames"]
    assert version["served"] and version["storage"]
    assert version["subresources"]["status"] == {}
    assert [c["name"] for c in version["additionalPrinterColumns"]] == columns


def _structural_problems(schema: dict[str, Any]) -> list[str]:
    """What keeps schema from being structural, in the API server's terms."""
    problems = []
    for path, node in _walk(schema):
        untyped = node.get("x-kubernetes-int-or-string") or node.get(
            "x-kubernetes-preserve-unknown-fields"
        )
        if not node.get("type") and not untyped:
            problems.append(f"{path}: no type")
        if node.get("x-kubernetes-int-or-string") and "type" in node:
            problems.append(f"{path}: int-or-string with a type")
        if "properties" in node and "additionalProperties" in node:
            problems.append(f"{path}: both properties and additionalProperties")
        if isinstance(node.get("items"), list):
            problems.append(f"{path}: items is a list")
        junctions = [*node.get("allOf", []), *node.get("anyOf", []), *node.get("oneOf", [])]
        if "not" in node:
            junctions.append(node["not"])
        for sub in junctions:
            if {"type", "description", "default", "additionalProperties"} & set(sub):
                problems.append(f"{path}: a junction may hold value validations only")
        if node.get("x-kubernetes-list-type") == "map":
            keys = set(node["x-kubernetes-list-map-keys"])
            if not keys <= set(node["items"].get("required", [])):
                problems.append(f"{path}: list-map keys must be required")
    metadata = schema.get("properties", {}).get("metadata")
    if metadata is not None and metadata != {"type": "object"}:
        problems.append(".metadata: only type object is allowed")
    return problems


@pytest.mark.parametrize("kind", sorted(CRDS))
def test_crd_schema_is_structural(kind):
    problems = _structural_problems(_schema(kind))

    assert not problems, "\n".join(problems)


NOT_STRUCTURAL = [
    # reason, schema, want
    ("a field without a type", {"type": "object", "properties": {"a": {}}}, ".a: no type"),
    (
        "int-or-string keeps no type",
        {
            "type": "object",
            "properties": {"a": {"type": "string", "x-kubernetes-int-or-string": True}},
        },
        "with a type",
    ),
    (
        "a map or a struct, not both",
        {
            "type": "object",
            "properties": {"a": {"type": "string"}},
            "additionalProperties": {"type": "string"},
        },
        "both properties",
    ),
    (
        "junctions validate values only",
        {"type": "object", "oneOf": [{"type": "object"}]},
        "value validations only",
    ),
    (
        "metadata takes no description",
        {"type": "object", "properties": {"metadata": {"type": "object", "description": "x"}}},
        ".metadata: only type",
    ),
    (
        "list-map keys are required",
        {
            "type": "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
            "items": {"type": "object"},
        },
        "must be required",
    ),
]


@pytest.mark.parametrize(
    ("reason", "schema", "want"), NOT_STRUCTURAL, ids=[c[0] for c in NOT_STRUCTURAL]
)
def test_structural_check_finds(reason, schema, want):
    assert any(want in problem for problem in _structural_problems(schema)), reason


@pytest.mark.parametrize("kind", sorted(CRDS))
def test_every_schema_node_has_a_description(kind):
    # The API server forbids anything but a type on the root metadata.
    missing = [
        path
        for path, node in _walk(_schema(kind))
        if path != ".metadata" and not node.get("description", "").strip()
    ]

    assert not missing, f"{kind}: no description at {missing}"


@pytest.mark.parametrize("kind", sorted(CRDS))
def test_defaults_satisfy_their_own_schema(kind):
    for path, node in _walk(_schema(kind)):
        if "default" in node:
            errors = list(KubeValidator(_strict(node)).iter_errors(node["default"]))
            assert not errors, f"{kind} {path}: default {node['default']!r}: {errors[0].message}"


@pytest.mark.parametrize("kind", sorted(CRDS))
def test_enum_words_are_camel_case(kind):
    spec = _schema(kind)["properties"]["spec"]
    for path, node in _walk(spec, ".spec"):
        for word in node.get("enum", []):
            assert re.fullmatch(r"[A-Z][A-Za-z0-9]*", word), f"{kind} {path}: {word!r}"


def _resolve(schema: dict[str, Any], json_path: str) -> dict[str, Any] | None:
    """The schema node a simple printer-column JSONPath points at."""
    node: dict[str, Any] | None = schema
    for step in re.sub(r"\[\?\(.*?\)\]", "[]", json_path).strip(".").split("."):
        name, is_list = step.removesuffix("[]"), step.endswith("[]")
        node = node.get("properties", {}).get(name) if node else None
        if node is not None and is_list:
            node = node.get("items")
    return node


@pytest.mark.parametrize("kind", sorted(CRDS))
def test_printer_columns_point_at_schema_fields(kind):
    schema = _schema(kind)
    for column in _version(CRDS[kind])["additionalPrinterColumns"]:
        if column["jsonPath"] == ".metadata.creationTimestamp":
            continue
        node = _resolve(schema, column["jsonPath"])

        assert node is not None, f"{kind} column {column['name']}: {column['jsonPath']}"
        assert node["type"] == column["type"], f"{kind} column {column['name']}"


def test_every_cel_rule_has_a_python_twin():
    rules = [
        rule["rule"]
        for kind in CRDS
        for _, node in _walk(_schema(kind))
        for rule in node.get("x-kubernetes-validations", [])
    ]

    assert set(rules) == set(CEL_TWINS)


# --- examples and hand-made objects -----------------------------------------


@pytest.mark.parametrize("obj", EXAMPLES)
def test_example_validates_against_its_crd(obj):
    assert obj["apiVersion"] == f"{GROUP}/{VERSION}"
    assert obj["kind"] in CRDS
    namespaced = CRDS[obj["kind"]]["spec"]["scope"] == "Namespaced"
    assert ("namespace" in obj["metadata"]) == namespaced

    assert _errors(obj) == []


def _topic(**spec: Any) -> dict[str, Any]:
    return _object("KafkaTopic", {"clusterRef": {"name": "local"}, **spec})


def _cluster(**spec: Any) -> dict[str, Any]:
    return _object("KafkaCluster", spec)


def _acl(**spec: Any) -> dict[str, Any]:
    base = {
        "clusterRef": {"name": "local"},
        "principal": "User:CN=orders",
        "resource": {"type": "Topic", "name": "orders.created"},
        "operations": ["Write"],
    }
    return _object("KafkaACL", {**base, **spec})


def _object(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    metadata = {"name": "test"}
    if CRDS[kind]["spec"]["scope"] == "Namespaced":
        metadata["namespace"] = "orders"
    spec = {key: value for key, value in spec.items() if value is not None}
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind, "metadata": metadata, "spec": spec}


MSK_ARN = (
    "arn:aws:kafka:eu-west-1:123456789012:cluster/orders/0a1b2c3d-4e5f-6789-abcd-ef0123456789-2"
)

GOOD_OBJECTS = [
    # reason, object
    ("a topic needs only a cluster", _topic()),
    ("config values may be integers or strings", _topic(config={"a.ms": 1, "b": "x"})),
    ("a topic name may use dots, dashes and underscores", _topic(topicName="a.b-c_D9")),
    ("a topic name may be 249 characters", _topic(topicName="t" * 249)),
    ("bootstrap servers may list several brokers", _cluster(bootstrapServers="a:9094,b:9094")),
    ("spaces around commas are accepted", _cluster(bootstrapServers="a:9094, b:9094")),
    ("an IPv6 broker", _cluster(bootstrapServers="[::1]:9093")),
    (
        "an MSK cluster in GovCloud",
        _cluster(
            msk={
                "clusterArn": MSK_ARN.replace(
                    "aws:kafka:eu-west-1", "aws-us-gov:kafka:us-gov-west-1"
                )
            }
        ),
    ),
    (
        "a Cluster resource needs no name",
        _acl(resource={"type": "Cluster"}, operations=["Describe", "AlterConfigs"]),
    ),
    (
        "the principal may come from a certificate",
        _acl(principal=None, principalFrom={"secretKeyRef": {"name": "orders-cert"}}),
    ),
    (
        "a prefixed deny",
        _acl(
            resource={"type": "Group", "name": "orders-", "patternType": "Prefixed"},
            operations=["Read"],
            permission="Deny",
        ),
    ),
]

BAD_OBJECTS = [
    # reason, object, want (a fragment of the error)
    ("a topic needs a cluster", _object("KafkaTopic", {}), "'clusterRef' is a required"),
    ("partitions start at 1", _topic(partitions=0), "less than the minimum of 1"),
    ("replication factor starts at 1", _topic(replicationFactor=0), "less than the minimum"),
    ("Kafka replication factors are 16-bit", _topic(replicationFactor=40000), "maximum"),
    ("a topic name has no spaces", _topic(topicName="orders created"), "does not match"),
    ("a topic name is at most 249 characters", _topic(topicName="t" * 250), "is too long"),
    ("'..' is not a topic name", _topic(topicName=".."), "may not be '.' or '..'"),
    ("an empty topic name", _topic(topicName=""), "should be non-empty"),
    ("booleans must be quoted in config", _topic(config={"x": True}), "neither an integer"),
    ("decimals must be quoted in config", _topic(config={"x": 0.5}), "neither an integer"),
    ("enum words are CamelCase", _topic(deletionPolicy="delete"), "is not one of"),
    ("a misspelt field is not ignored", _topic(partition=3), "'partition' was unexpected"),
    ("a cluster needs brokers or an MSK ARN", _cluster(), "exactly one of bootstrapServers"),
    (
        "not both brokers and MSK",
        _cluster(bootstrapServers="a:1", msk={"clusterArn": MSK_ARN}),
        "exactly one of bootstrapServers",
    ),
    ("a broker needs a port", _cluster(bootstrapServers="broker-1"), "does not match"),
    (
        "the ARN must be an MSK cluster",
        _cluster(msk={"clusterArn": MSK_ARN.replace(":kafka:", ":ec2:")}),
        "does not match",
    ),
    (
        "the ARN account has 12 digits",
        _cluster(msk={"clusterArn": MSK_ARN.replace("123456789012", "1234")}),
        "does not match",
    ),
    (
        "MSK endpoints are CamelCase",
        _cluster(msk={"clusterArn": MSK_ARN, "endpoint": "private"}),
        "is not one of",
    ),
    (
        "an unknown cluster type",
        _cluster(bootstrapServers="a:1", clusterType="Confluent"),
        "is not one of",
    ),
    ("an ACL needs a principal", _acl(principal=None), "exactly one of principal"),
    (
        "not both a principal and a certificate",
        _acl(principalFrom={"secretKeyRef": {"name": "c"}}),
        "exactly one of principal",
    ),
    (
        "a topic resource needs a name",
        _acl(resource={"type": "Topic"}),
        "resource.name is required",
    ),
    ("at least one operation", _acl(operations=[]), "should be non-empty"),
    ("operations are Kafka's words", _acl(operations=["Produce"]), "is not one of"),
    ("an operation is listed once", _acl(operations=["Read", "Read"]), "duplicate entries"),
    ("permissions are CamelCase", _acl(permission="allow"), "is not one of"),
    (
        "pattern types are Literal or Prefixed",
        _acl(resource={"type": "Topic", "name": "o", "patternType": "Match"}),
        "is not one of",
    ),
]


@pytest.mark.parametrize(("reason", "obj"), GOOD_OBJECTS, ids=[c[0] for c in GOOD_OBJECTS])
def test_valid_object_is_accepted(reason, obj):
    assert _errors(obj) == [], reason


@pytest.mark.parametrize(("reason", "obj", "want"), BAD_OBJECTS, ids=[c[0] for c in BAD_OBJECTS])
def test_invalid_object_is_rejected(reason, obj, want):
    errors = _errors(obj)

    assert errors, f"accepted, but {reason}"
    assert any(want in error for error in errors), f"{reason}: got {errors}"


def _fixture_statuses() -> list[Any]:
    """Every status the hooks answer with in the HTTP fixtures, by kind."""
    singular = {crd["spec"]["names"]["singular"]: kind for kind, crd in CRDS.items()}
    cases = []
    for path in sorted((REPO / "tests" / "fixtures" / "http").glob("*/*/response.json")):
        kind = singular.get(path.parent.parent.name)
        status = (yaml.safe_load(path.read_text(encoding="utf-8")).get("body") or {}).get("status")
        if kind and isinstance(status, dict):
            cases.append(pytest.param(kind, status, id=str(path.parent.relative_to(REPO))))
    return cases


@pytest.mark.parametrize(("kind", "status"), _fixture_statuses())
def test_hook_status_fits_the_status_schema(kind, status):
    # The API server drops status fields the schema lacks without a word, and
    # with them whatever the hook meant to remember; so unknown is an error here.
    schema = _strict(_schema(kind)["properties"]["status"])

    errors = [error.message for error in KubeValidator(schema).iter_errors(status)]

    assert errors == []


# --- Metacontroller wiring ---------------------------------------------------

CONTROLLER_PLURALS = {c["spec"]["parentResource"]["resource"]: c for c in CONTROLLERS}
EXPECTED_RESYNC = {"kafkaclusters": 120, "kafkatopics": 60, "kafkaacls": 60, "kafkaaccesses": 60}
# The composite's children, updated in place (never deleted and recreated).
EXPECTED_CHILDREN = {"kafkaaccesses": ["kafkatopics", "kafkaacls"]}


def _hooks() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for controller in CONTROLLERS:
        for name, hook in controller["spec"]["hooks"].items():
            yield controller["metadata"]["name"], name, hook


def _deployment() -> dict[str, Any]:
    (deployment,) = _docs("metacontroller", "Deployment")
    return deployment


def _container() -> dict[str, Any]:
    (container,) = _deployment()["spec"]["template"]["spec"]["containers"]
    return container


def test_one_controller_per_managed_kind():
    assert set(CONTROLLER_PLURALS) == set(EXPECTED_RESYNC)
    assert len(CONTROLLERS) == len(CONTROLLER_PLURALS)


@pytest.mark.parametrize("plural", sorted(EXPECTED_RESYNC))
def test_controller_spec(plural):
    controller = CONTROLLER_PLURALS[plural]
    spec = controller["spec"]
    kind = {"kafkaaccesses": "kafkaaccess"}.get(plural, plural.removesuffix("s"))
    children = spec.get("childResources", [])

    assert controller["metadata"]["labels"].items() >= PART_OF.items()
    assert spec["parentResource"]["apiVersion"] == f"{GROUP}/{VERSION}"
    assert [child["resource"] for child in children] == EXPECTED_CHILDREN.get(plural, [])
    for child in children:
        assert child["apiVersion"] == f"{GROUP}/{VERSION}"
        assert child["updateStrategy"] == {"method": "InPlace"}
    assert spec["generateSelector"] is True
    assert spec["resyncPeriodSeconds"] == EXPECTED_RESYNC[plural]
    assert set(spec["hooks"]) == {"customize", "sync", "finalize"}
    for name, hook in spec["hooks"].items():
        assert hook["webhook"]["url"] == f"{HOOK_BASE_URL}/hooks/{kind}/{name}"


@pytest.mark.parametrize(("controller", "name", "hook"), list(_hooks()))
def test_hook_uses_v2_a_10s_timeout_and_the_token(controller, name, hook):
    token_ref = next(
        env["valueFrom"]["secretKeyRef"]
        for env in _container()["env"]
        if env["name"] == "KAFKA_ACCESS_HOOK_TOKEN"
    )
    auth = hook["webhook"]["authorization"]

    assert hook["version"] == "v2"
    assert hook["webhook"]["timeout"] == "10s"
    assert auth["type"] == "Bearer"
    assert auth["secretRef"] == {
        "name": token_ref["name"],
        "namespace": OPERATOR_NAMESPACE,
        "key": token_ref["key"],
    }


def test_controllers_name_only_defined_resources():
    defined = {
        (f"{crd['spec']['group']}/{v['name']}", crd["spec"]["names"]["plural"])
        for crd in CRDS.values()
        for v in crd["spec"]["versions"]
    } | CORE_RESOURCES

    for controller in CONTROLLERS:
        spec = controller["spec"]
        for rule in [spec["parentResource"], *spec.get("childResources", [])]:
            assert (rule["apiVersion"], rule["resource"]) in defined, controller["metadata"]["name"]


@pytest.fixture
def hook_client(monkeypatch):
    """A test client of the real app, or a skip while hooks/app.py is unwritten."""
    if not (REPO / "hooks" / "app.py").exists():
        pytest.skip("hooks/app.py does not exist yet")
    monkeypatch.syspath_prepend(str(REPO))
    from hooks.app import create_app

    app = create_app({"HOOK_TOKEN": "test-token", "OPERATOR_NAMESPACE": OPERATOR_NAMESPACE})
    return app.test_client()


@pytest.mark.parametrize(
    "url", sorted(hook["webhook"]["url"] for _, _, hook in _hooks()), ids=lambda u: urlsplit(u).path
)
def test_app_serves_every_hook_url(hook_client, url):
    # A body that is not JSON is answered before any hook logic runs: 400 when
    # the app serves the path, 404 when it does not.
    path = urlsplit(url).path
    kind = path.split("/")[2]
    from hooks.app import KINDS

    if kind not in KINDS:
        pytest.skip(f"hooks.app serves no {kind} hooks yet")
    response = hook_client.post(
        path, data="not json", headers={"Authorization": "Bearer test-token"}
    )

    assert response.status_code == 400, response.get_json()


def test_app_serves_the_probes_and_metrics(hook_client):
    container = _container()
    probes = {container[p]["httpGet"]["path"] for p in container if p.endswith("Probe")}

    for path in sorted(probes | {"/metrics"}):
        assert hook_client.get(path).status_code == 200, path


# --- the hook Deployment -----------------------------------------------------


def test_service_reaches_the_hook_container():
    (service,) = _docs("metacontroller", "Service")
    deployment = _deployment()
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    (port,) = service["spec"]["ports"]
    container_ports = {p["name"]: p["containerPort"] for p in _container()["ports"]}

    assert service["metadata"]["namespace"] == OPERATOR_NAMESPACE
    assert urlsplit(HOOK_BASE_URL).hostname.startswith(
        f"{service['metadata']['name']}.{OPERATOR_NAMESPACE}.svc"
    )
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert port["port"] == 80
    assert container_ports[port["targetPort"]] == 8080


def test_hook_pod_is_locked_down():
    pod = _deployment()["spec"]["template"]["spec"]
    container = _container()
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}

    assert _deployment()["spec"]["replicas"] == 2
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert "emptyDir" in volumes[mounts["/tmp"]]
    assert container["resources"]["requests"] and container["resources"]["limits"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_service_account_has_no_token_and_no_rbac():
    (account,) = _docs("metacontroller", "ServiceAccount")
    rbac = [
        doc
        for kind in ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")
        for doc in _docs("metacontroller", kind)
    ]

    assert account["automountServiceAccountToken"] is False
    assert (
        account["metadata"]["name"]
        == _deployment()["spec"]["template"]["spec"]["serviceAccountName"]
    )
    assert rbac == []
