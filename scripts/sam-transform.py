#!/usr/bin/env python3
"""Expands template.yaml with aws-sam-translator, the library behind CloudFormation's
AWS::Serverless-2016-10-31 transform, and prints the resulting CloudFormation template as JSON.

Usage: python3 scripts/sam-transform.py [template.yaml] > transformed.json

It fails (exit 1, the translator's own messages on stderr) when SAM would refuse the template at
deploy time. `sam build`/`sam package` replace local paths (the project root as CodeUri, the ASL
file as DefinitionUri) with S3 locations before the transform runs; this script does the same with
placeholder locations, so no AWS account or network is needed. Unlike cfn-lint, it keeps SAM's own
resource validation switched on.
"""

import json
import os
import sys

# The translator derives ARNs' partition and the pseudo parameters from the Region.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from samtranslator.parser.parser import Parser  # noqa: E402
from samtranslator.public.exceptions import InvalidDocumentException  # noqa: E402
from samtranslator.translator.translator import Translator  # noqa: E402
from samtranslator.yaml_helper import yaml_parse  # noqa: E402

# Managed policies SAM attaches by name (X-Ray for Tracing; the basic execution role is an ARN).
MANAGED_POLICIES = {
    "AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    "AWSXRayDaemonWriteAccess": "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess",
    "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
}

PLACEHOLDER_S3 = "s3://rekey-sam-transform-check/{}"


def as_packaged(template):
    """What `sam package` hands to CloudFormation: local paths replaced by S3 locations."""
    code_uri_global = template.get("Globals", {}).get("Function", {}).get("CodeUri")
    for logical_id, resource in template.get("Resources", {}).items():
        properties = resource.setdefault("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function":
            code_uri = properties.get("CodeUri", code_uri_global)
            if code_uri is None or (isinstance(code_uri, str) and not code_uri.startswith("s3://")):
                properties["CodeUri"] = PLACEHOLDER_S3.format(logical_id)
        if resource.get("Type") == "AWS::Serverless::StateMachine":
            uri = properties.get("DefinitionUri")
            if isinstance(uri, str) and not uri.startswith("s3://"):
                if not os.path.isfile(uri):
                    raise SystemExit(f"{logical_id}: DefinitionUri {uri} does not exist")
                properties["DefinitionUri"] = PLACEHOLDER_S3.format(uri)
    return template


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "template.yaml"
    with open(path, encoding="utf-8") as handle:
        template = as_packaged(yaml_parse(handle.read()))
    translator = Translator(managed_policy_map=MANAGED_POLICIES, sam_parser=Parser())
    try:
        output = translator.translate(sam_template=template, parameter_values={})
    except InvalidDocumentException as error:
        for cause in error.causes:
            print(f"sam-translator: {cause.message}", file=sys.stderr)
        return 1
    json.dump(output, sys.stdout, indent=1, sort_keys=True, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
