"""Local AWS emulator for cgagent's tests: STS, IMDS, container credentials
and CodeGuru Profiler on loopback, with SigV4 verification, fault injection
and a journal tests can wait on.  See tests/README.md and DEVELOPERS.md.

    from emulator import Emulator
    with Emulator() as emu:
        env = emu.env_for("user")          # for the process under test
        ...
        emu.wait_for_profiles(count=1, timeout=30)
"""
from .emulator import Emulator, SERVICE_NAMES
from .faults import Fault
from .identity import Clock, Credentials
from .profile import stacks, totals, validate_profile
from .records import ProfilePost, RecordedRequest
from .world import (CENTRAL_ACCOUNT, CENTRAL_ROLE_ARN, CONTAINER_AUTH_TOKEN,
                    GROUP, INSTANCE_ROLE_ARN, LOCAL_GROUP, OTHER_ACCESS_KEY_ID,
                    OTHER_ACCOUNT, OTHER_SECRET_ACCESS_KEY, REGION,
                    TASK_ROLE_ARN, WEB_IDENTITY_ROLE_ARN, WEB_IDENTITY_TOKEN,
                    WORKLOAD_ACCESS_KEY_ID, WORKLOAD_ACCOUNT,
                    WORKLOAD_SECRET_ACCESS_KEY)
