"""The default world every Emulator starts with (unless defaults=False).

A workload account whose user, instance role, task role and web-identity
role can all assume the central account's role, which owns the profiling
group.  A third account is trusted by nothing, for cross-account denials.
The values are fixed so tests, docs and the C tests can name them.
"""
WORKLOAD_ACCOUNT = "111111111111"
CENTRAL_ACCOUNT = "222222222222"
OTHER_ACCOUNT = "333333333333"

WORKLOAD_ACCESS_KEY_ID = "AKIACGAGENTWORKLOAD1"
WORKLOAD_SECRET_ACCESS_KEY = "cgagent/workload/Secret+Key/0000000000001"
OTHER_ACCESS_KEY_ID = "AKIACGAGENTOUTSIDER1"
OTHER_SECRET_ACCESS_KEY = "cgagent/outsider/Secret+Key/0000000000001"

CENTRAL_ROLE_ARN = "arn:aws:iam::%s:role/cgagent-central" % CENTRAL_ACCOUNT
INSTANCE_ROLE_ARN = "arn:aws:iam::%s:role/cgagent-instance" % WORKLOAD_ACCOUNT
TASK_ROLE_ARN = "arn:aws:iam::%s:role/cgagent-task" % WORKLOAD_ACCOUNT
WEB_IDENTITY_ROLE_ARN = "arn:aws:iam::%s:role/cgagent-web-identity" % WORKLOAD_ACCOUNT

# a JWT-shaped string; the emulator compares tokens, it does not parse them
WEB_IDENTITY_TOKEN = ("eyJhbGciOiJSUzI1NiIsImtpZCI6ImNnYWdlbnQifQ."
                      "eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVmYXVsdDpjZ2FnZW50In0."
                      "Y2dhZ2VudC10ZXN0LXNpZ25hdHVyZQ")
CONTAINER_AUTH_TOKEN = "cgagent-container-auth-token"

GROUP = "cgagent-test"            # in CENTRAL_ACCOUNT
LOCAL_GROUP = "cgagent-local"     # in WORKLOAD_ACCOUNT (no role to assume)
REGION = "us-east-1"

DEFAULT_CONFIG = {
    "region": REGION,
    "users": [
        {"account": WORKLOAD_ACCOUNT, "name": "cgagent-workload",
         "access_key_id": WORKLOAD_ACCESS_KEY_ID,
         "secret_access_key": WORKLOAD_SECRET_ACCESS_KEY},
        {"account": OTHER_ACCOUNT, "name": "outsider",
         "access_key_id": OTHER_ACCESS_KEY_ID,
         "secret_access_key": OTHER_SECRET_ACCESS_KEY},
    ],
    "roles": [
        {"account": CENTRAL_ACCOUNT, "name": "cgagent-central",
         "trust": [WORKLOAD_ACCOUNT], "max_session_s": 3600},
        {"account": WORKLOAD_ACCOUNT, "name": "cgagent-instance"},
        {"account": WORKLOAD_ACCOUNT, "name": "cgagent-task"},
        {"account": WORKLOAD_ACCOUNT, "name": "cgagent-web-identity",
         "web_identity": True},
    ],
    "web_identity_tokens": [{"token": WEB_IDENTITY_TOKEN}],
    "groups": [
        {"name": GROUP, "account": CENTRAL_ACCOUNT},
        {"name": LOCAL_GROUP, "account": WORKLOAD_ACCOUNT},
    ],
    "imds": {"role": INSTANCE_ROLE_ARN},
    "container": {"role": TASK_ROLE_ARN, "auth_token": CONTAINER_AUTH_TOKEN},
}
