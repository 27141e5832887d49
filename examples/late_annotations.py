#!/usr/bin/env python3
"""Send late outcomes (chargebacks, refunds) to reCAPTCHA through the worker.

A nightly job for a backend that recorded each order's assessment ID (the
worker passes it to the origin in X-Recaptcha-Assessment-Id). Reads a CSV with
columns assessment_id, event, amount, occurred_at and posts it to the worker's
batch endpoint as NDJSON, 1,000 items per request. Standard library only.

    ANNOTATE_URL=https://shop.example.com/.well-known/recaptcha-annotations \\
    ADMIN_TOKEN=... python3 late_annotations.py chargebacks.csv
"""

import csv
import json
import os
import sys
import urllib.error
import urllib.request

BATCH = 1000
EVENTS = {
    # event in the CSV -> (label, reason, transaction event type)
    "chargeback": ("FRAUDULENT", "CHARGEBACK_FRAUD", "CHARGEBACK"),
    "refund": ("FRAUDULENT", "REFUND_FRAUD", "REFUND"),
    "dispute": (None, "CHARGEBACK_DISPUTE", "CHARGEBACK_INQUIRY"),
}


def item(row):
    label, reason, event_type = EVENTS[row["event"]]
    annotation = {
        "assessment": row["assessment_id"],
        "reasons": [reason],
        "transactionEvent": {
            "eventType": event_type,
            "value": float(row["amount"]),
            "eventTime": row["occurred_at"],
        },
    }
    if label:
        annotation["annotation"] = label
    return annotation


def post(url, token, items):
    body = "".join(json.dumps(i) + "\n" for i in items).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/x-ndjson",
    })
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def main(path):
    url, token = os.environ["ANNOTATE_URL"], os.environ["ADMIN_TOKEN"]
    with open(path, newline="") as f:
        items = [item(row) for row in csv.DictReader(f)]
    accepted = 0
    for start in range(0, len(items), BATCH):
        try:
            receipt = post(url, token, items[start:start + BATCH])
        except urllib.error.HTTPError as e:
            sys.exit(f"batch at row {start}: HTTP {e.code}: {e.read().decode()}")
        accepted += receipt["accepted"]
        for r in receipt["rejected"]:
            print(f"row {start + r['index'] + 1}: {r['error']}", file=sys.stderr)
    print(f"{accepted} of {len(items)} annotations accepted")


if __name__ == "__main__":
    main(sys.argv[1])
