"""Checks the scope of every IAM policy in deploy/: the policies of the CloudFormation
templates (roles, queue, bucket and bus policies; intrinsic functions replaced by sample
values, both branches of every Fn::If kept) and the documents of deploy/policies/ (their
${Placeholders} replaced by sample values).

An Allow statement fails when it
  - names a wildcard action (`*`, `iam:*`, `s3:Get*`) or uses NotAction / NotResource;
  - grants on Resource "*" an action that supports resource-level permissions (per the
    Service Authorization Reference data shipped with cfn-lint), unless the action is in
    RESOURCE_STAR_ALLOWED below;
  - names an action that the reference does not know (a typo grants nothing);
  - lets Principal "*" in without a Condition.
Deny statements may use wildcards: they only take away.

With --actions, prints instead the actions each role of the templates is allowed, as JSON.
"""

import json
import re
import sys
from importlib import resources
from pathlib import Path

import yaml

# Actions granted on "*" on purpose. Actions without any resource type in the reference
# (ecr:GetAuthorizationToken, ssmmessages:*) need no entry: "*" is their only scope.
RESOURCE_STAR_ALLOWED = {
    # Reads parameter metadata; no resource-level permission.
    "ssm:describeparameters",
    # Metrics: the namespace condition is the scope (checked below).
    "cloudwatch:putmetricdata",
    # Cost Explorer reads the whole bill; its only resource type is a billing view.
    "ce:getcostandusage",
    # Observation reads the whole organization.
    "organizations:listroots",
    "organizations:describeorganization",
    "organizations:listaccounts",
    "organizations:listpolicies",
    "organizations:describeorganizationalunit",
    "organizations:listorganizationalunitsforparent",
    "organizations:listaccountsforparent",
    "organizations:listchildren",
    "organizations:listparents",
    "organizations:describeaccount",
    "organizations:listtagsforresource",
    "organizations:describepolicy",
    "organizations:listpoliciesfortarget",
    "organizations:listtargetsforpolicy",
}
# Conditions an allowed action must carry on "*".
REQUIRED_CONDITION = {"cloudwatch:putmetricdata": "cloudwatch:namespace"}

SAMPLES = {
    "AWS::AccountId": "123456789012",
    "AWS::Region": "eu-west-1",
    "AWS::Partition": "aws",
    "AWS::StackName": "sample",
    "AWS::URLSuffix": "amazonaws.com",
}
NO_VALUE = object()


def reference():
    """{service: {action (lower case): [resource types]}} from cfn-lint's copy of the
    Service Authorization Reference."""
    path = resources.files("cfnlint.data.AdditionalSpecs").joinpath("Policies.json")
    data = json.loads(path.read_text())
    return {
        service: {name: spec.get("Resources", []) for name, spec in body.get("Actions", {}).items()}
        for service, body in data.items()
    }


class Loader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms (!Sub, !Ref...) turned into long forms."""


def short_form(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {"Fn::" + suffix: value}


Loader.add_multi_constructor("!", short_form)


def resolve(value, names):
    """Replaces intrinsic functions by sample strings; Fn::If gives a list of both branches
    (spliced into the enclosing list), so that every branch is checked."""
    if isinstance(value, list):
        out = []
        for item in value:
            resolved = resolve(item, names)
            if isinstance(item, dict) and "Fn::If" in item and isinstance(resolved, list):
                out.extend(r for r in resolved if r is not NO_VALUE)
            elif resolved is not NO_VALUE:
                out.append(resolved)
        return out
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref":
            return NO_VALUE if arg == "AWS::NoValue" else names.get(arg, f"sample-{arg}")
        if key == "Fn::GetAtt":
            return f"arn:aws:sample:eu-west-1:123456789012:{arg[0]}"
        if key == "Fn::Sub":
            text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], resolve(arg[1], names))
            return re.sub(r"\$\{([^}!]+)\}", lambda m: str(extra.get(m[1], names.get(m[1], f"sample-{m[1]}"))), text)
        if key == "Fn::Join":
            return arg[0].join(str(part) for part in resolve(arg[1], names))
        if key == "Fn::Select":
            items = resolve(arg[1], names)
            return items[int(arg[0])] if int(arg[0]) < len(items) else "sample"
        if key == "Fn::Split":
            return resolve(arg[1], names).split(arg[0])
        if key == "Fn::If":
            kept = []
            for branch in arg[1:]:
                resolved = resolve(branch, names)
                if isinstance(branch, dict) and "Fn::If" in branch and resolved is not NO_VALUE:
                    kept.extend(resolved)  # a nested Fn::If: its branches are alternatives too
                elif resolved is not NO_VALUE:
                    kept.append(resolved)
            return kept if kept else NO_VALUE
    return {k: resolve(v, names) for k, v in value.items()}


def template_policies(path):
    template = yaml.load(path.read_text(), Loader=Loader)
    names = dict(SAMPLES)
    for name, parameter in (template.get("Parameters") or {}).items():
        default = parameter.get("Default")
        names[name] = default if default not in (None, "") else f"sample-{name}"
    for logical, resource in template["Resources"].items():
        kind, props = resource["Type"], resource.get("Properties", {})
        where = f"{path}:{logical}"
        if kind == "AWS::IAM::Role":
            yield f"{where} (trust)", resolve(props["AssumeRolePolicyDocument"], names)
            for policy in props.get("Policies", []):
                yield f"{where}/{policy['PolicyName']}", resolve(policy["PolicyDocument"], names)
        elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::SQS::QueuePolicy",
                      "AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy"):
            yield where, resolve(props["PolicyDocument"], names)
        elif kind == "AWS::Events::EventBusPolicy":
            yield where, {"Statement": [resolve(props["Statement"], names)]}


def document_policies(path):
    text = re.sub(r"\$\{(\w+)\}", lambda m: f"sample-{m[1]}", path.read_text())
    yield str(path), json.loads(text)


def as_list(value):
    return value if isinstance(value, list) else [value]


def check(where, document, known):
    problems = []
    for index, statement in enumerate(as_list(document.get("Statement", []))):
        label = f"{where} statement {statement.get('Sid', index)}"
        if statement.get("Effect") != "Allow":
            continue
        for key in ("NotAction", "NotResource", "NotPrincipal"):
            if key in statement:
                problems.append(f"{label}: {key} in an Allow statement")
        actions = as_list(statement.get("Action", []))
        resource_list = as_list(statement.get("Resource", []))
        condition = statement.get("Condition") or {}
        condition_keys = {k.lower() for op in condition.values() for k in op}
        principal = statement.get("Principal")
        if principal in ("*", {"AWS": "*"}) and not condition:
            problems.append(f"{label}: Principal '*' without a Condition")
        for action in actions:
            if "*" in action:
                problems.append(f"{label}: wildcard action {action}")
                continue
            service, _, name = action.lower().partition(":")
            if name not in known.get(service, {}):
                problems.append(f"{label}: unknown action {action}")
                continue
            if "*" in resource_list and known[service][name]:
                needed = REQUIRED_CONDITION.get(action.lower())
                if action.lower() not in RESOURCE_STAR_ALLOWED:
                    problems.append(f"{label}: {action} on Resource '*' (it supports {', '.join(known[service][name])})")
                elif needed and needed not in condition_keys:
                    problems.append(f"{label}: {action} on Resource '*' needs a {needed} condition")
    return problems


def role_actions(paths):
    """{"<template>:<role>": [actions]} of the Allow statements of each role's policies:
    what the IAM-enforced end-to-end test grants, action by action."""
    roles = {}
    for path in map(Path, paths):
        for where, document in template_policies(path):
            if "(trust)" in where or "/" not in where.rsplit(":", 1)[-1]:
                continue
            role = f"{path.name}:{where.rsplit(':', 1)[-1].split('/')[0]}"
            for statement in as_list(document.get("Statement", [])):
                if statement.get("Effect") == "Allow":
                    roles.setdefault(role, set()).update(as_list(statement.get("Action", [])))
    return {role: sorted(actions) for role, actions in sorted(roles.items())}


def main(paths):
    if paths[:1] == ["--actions"]:
        print(json.dumps(role_actions(paths[1:]), indent=1))
        return 0
    known = reference()
    problems, count = [], 0
    for path in map(Path, paths):
        found = template_policies(path) if path.suffix in (".yaml", ".yml") else document_policies(path)
        for where, document in found:
            count += 1
            problems += check(where, document, known)
    for problem in problems:
        print(problem)
    print(f"{count} policies checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
