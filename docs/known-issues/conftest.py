"""Lets these repros run from /tmp/breaker2/repros against the clone; pasted into
tests/unit or tests/integration they need nothing of this file."""
import os
import sys

REPO = os.environ.get("KAFKA_ACCESS_REPO", "/tmp/breaker2/repo")
sys.path[:0] = [REPO, os.path.join(REPO, "scripts")]
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_DEFAULT_REGION"] = "eu-central-1"
