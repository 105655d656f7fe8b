#!/usr/bin/env python3
"""Gives the local AWS emulator a month of costs for the example organization (demo only).

The emulator's Cost Explorer answers what it is given (`POST
/moto-api/static/ce/cost-and-usage-results`): each distinct request gets the next answer of
the list. spa asks for a month three times, in this order: by account and service, by
account and usage type, by account and record type; the answers below are the same costs
seen those three ways, for every account of organization.yaml, with a credit, a refund and
tax, so that the charges summary shows them.

Usage: demo-costs.py ENDPOINT ORGANIZATION_YAML MONTH(YYYY-MM)
"""
import json
import sys
import urllib.request

import yaml

SERVICES = [
    ("Amazon Elastic Compute Cloud - Compute", "EU-BoxUsage:t3.medium", 38.4),
    ("Amazon Simple Storage Service", "EU-TimedStorage-ByteHrs", 2.71),
    ("AWS Lambda", "EU-Request", 0.00000042),
]


def accounts(organization):
    found = [a["id"] for a in organization.get("accounts", [])]
    units = list(organization.get("organizational_units", []))
    while units:
        unit = units.pop()
        found += [a["id"] for a in unit.get("accounts", [])]
        units += unit.get("organizational_units", [])
    return sorted(found)


def answer(month, following, groups):
    return {
        "ResultsByTime": [{
            "TimePeriod": {"Start": f"{month}-01", "End": f"{following}-01"},
            "Total": {},
            "Groups": [
                {"Keys": keys, "Metrics": {"UnblendedCost": {"Amount": amount, "Unit": "USD"}}}
                for keys, amount in groups
            ],
            "Estimated": False,
        }],
        "DimensionValueAttributes": [],
    }


def main():
    endpoint, path, month = sys.argv[1:4]
    with open(path, encoding="utf-8") as file:
        organization = yaml.safe_load(file)
    year, number = (int(part) for part in month.split("-"))
    following = f"{year + number // 12:04d}-{number % 12 + 1:02d}"
    services, usages, charges = [], [], []
    for index, account in enumerate(accounts(organization)):
        scale = 1 + index % 5
        spent = 0.0
        for service, usage, amount in SERVICES:
            value = f"{amount * scale:.10g}"
            spent += amount * scale
            services.append(([account, service], value))
            usages.append(([account, usage], value))
        charges.append(([account, "Usage"], f"{spent:.10g}"))
        charges.append(([account, "Tax"], f"{spent * 0.2:.10g}"))
        if index % 4 == 0:
            charges.append(([account, "Credit"], "-25"))
        if index % 7 == 3:
            charges.append(([account, "Refund"], "-1.5"))
    body = {
        "account_id": str(organization["management_account"]),
        "results": [
            answer(month, following, services),
            answer(month, following, usages),
            answer(month, following, charges),
        ],
    }
    request = urllib.request.Request(
        f"{endpoint}/moto-api/static/ce/cost-and-usage-results",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        if response.status != 201:
            sys.exit(f"the emulator answered {response.status}")
    print(f"{len(accounts(organization))} accounts given costs for {month}", file=sys.stderr)


if __name__ == "__main__":
    main()
