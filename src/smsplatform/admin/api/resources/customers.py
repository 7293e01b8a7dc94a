"""/customers: create (the appkey is in that answer only), top up, disable and enable, the IP
allow-list, the daily request limit, the appkey's expiry, and a new appkey (in that answer only)."""

from __future__ import annotations

from smsplatform.admin import customers
from smsplatform.admin.api.endpoint import Endpoint, fixed

_ID = {"customer_id": "The customer's id"}

ENDPOINTS = [
    Endpoint("GET", "/customers", customers.list_customers, "List the customers with their quota"),
    Endpoint(
        "POST",
        "/customers",
        customers.create_customer,
        "Create a customer; the answer is the only place its appkey appears",
        status=201,
        params={
            "name": f"The customer's name (at most {customers.MAX_NAME} characters)",
            "totalnum": "Purchased quota, shared out to its sub-accounts",
            "expires_at": "Unix time after which the appkey answers 102; leave out for never",
            "allow_ips": "Addresses or CIDR blocks the appkey works from; empty: any",
            "daily_request_limit": "API requests a day (104 beyond); leave out for unlimited",
        },
    ),
    Endpoint("GET", "/customers/{customer_id}", customers.get_customer, "One customer", params=_ID),
    Endpoint(
        "POST",
        "/customers/{customer_id}/topup",
        customers.topup,
        "Add to a customer's purchased quota",
        params={**_ID, "amount": "How much to add"},
    ),
    Endpoint(
        "POST",
        "/customers/{customer_id}/disable",
        customers.set_enabled,
        "Disable a customer: its appkey answers 103; messages already accepted still go out",
        params=_ID,
        supplied={"enabled": fixed(False)},
        name="customers.disable",
    ),
    Endpoint(
        "POST",
        "/customers/{customer_id}/enable",
        customers.set_enabled,
        "Enable a disabled customer again",
        params=_ID,
        supplied={"enabled": fixed(True)},
        name="customers.enable",
    ),
    Endpoint(
        "PUT",
        "/customers/{customer_id}/allow-ips",
        customers.set_allow_ips,
        params={**_ID, "networks": "Addresses or CIDR blocks (105 for other callers); empty: any address"},
    ),
    Endpoint(
        "PUT",
        "/customers/{customer_id}/daily-limit",
        customers.set_daily_limit,
        params={**_ID, "limit": "API requests a day; null: unlimited"},
    ),
    Endpoint(
        "POST",
        "/customers/{customer_id}/rotate-key",
        customers.rotate_appkey,
        "Issue a new appkey; the answer is the only place it appears",
        params={
            **_ID,
            "grace_seconds": "How long the old appkey keeps working (0: it answers 101 at once; "
            "at most 30 days); leave out for 24 hours",
        },
    ),
    Endpoint(
        "PUT",
        "/customers/{customer_id}/expiry",
        customers.set_expiry,
        params={**_ID, "expires_at": "Unix time of the appkey's last second; null: never"},
    ),
]
