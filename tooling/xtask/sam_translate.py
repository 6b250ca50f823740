"""Translate a SAM template to plain CloudFormation, offline; a template
without a Transform comes back as JSON unchanged.

Usage: sam_translate.py TEMPLATE [OUT]. Prints (or writes) the CloudFormation
JSON. No credentials and no network: managed policies are resolved from a
fixed map instead of IAM, and the region comes from AWS_REGION (default
us-east-1).
"""
import json
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class OfflinePolicies:
    """SAM asks IAM for managed policy ARNs only by name; we use none by name."""

    def load(self):
        return {}


def main():
    os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("AWS_REGION", "us-east-1"))
    with open(sys.argv[1], encoding="utf-8") as f:
        template = yaml_parse(f.read())
    # `sam package` replaces local CodeUri paths with uploaded S3 objects;
    # stand in for that step with a placeholder per function.
    for name, resource in template.get("Resources", {}).items():
        props = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function":
            uri = props.get("CodeUri")
            if isinstance(uri, str) and not uri.startswith("s3://"):
                props["CodeUri"] = f"s3://local-build/{name}.zip"
    if "Transform" in template:
        translated = transform(template, {}, OfflinePolicies())
    else:
        translated = template
    text = json.dumps(translated, indent=2, sort_keys=True)
    if len(sys.argv) > 2:
        with open(sys.argv[2], "w", encoding="utf-8") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
