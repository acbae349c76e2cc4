"""The Emulator: four AWS endpoints on loopback, driven by one object.

DESIGN: Emulator wires the shared state (clock, identities, fault table,
journal) to the four services and gives each its own ServiceServer, so any
one can be faulted, stopped or restarted on its port without touching the
others.  Configuration is one JSON-shaped dict (world.DEFAULT_CONFIG, then
the caller's), the same shape the CLI reads from --config and the control
API accepts on POST /config, applied by apply_config().  env_for() turns
the running emulator into the environment a child process (the agent
under test) needs.
"""
import os
import shutil
import tempfile
import threading

from . import world
from .codeguru import CodeGuru
from .container import TASK_METADATA_BASE, Container
from .control import ControlApp
from .faults import FAULT_FIELDS, SERVICES as SERVICE_NAMES, Fault, FaultTable
from .httpserver import ServiceServer
from .identity import Clock, Identities
from .imds import Imds
from .records import Journal
from .sts import Sts

SETTINGS = ("region", "strict", "skew_tolerance_s", "session_lifetime_s",
            "reject_invalid_profiles", "clock_offset_s")
SECTIONS = ("accounts", "users", "roles", "web_identity_tokens", "groups",
            "imds", "container", "faults")
CONSTRUCTION_ONLY = ("defaults", "ports")

# Inherited variables that would point the agent elsewhere than here.
_SCRUB_PREFIXES = ("AWS_", "CGAGENT_", "ECS_CONTAINER_METADATA_URI")
_SCRUB_NAMES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy",
                "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy")


class Emulator:
    """with Emulator() as emu: ... -- see tests/README.md for a tour."""

    def __init__(self, config=None, *, control=False, verbose=False, **settings):
        config = dict(config or {})
        config.update(settings)
        self._config = config
        self.journal = Journal()
        self.clock = Clock(on_change=self.journal.notify)
        self.identities = Identities(self.clock)
        self.faults = FaultTable(on_change=self.journal.notify)
        self.region = world.REGION
        self.strict = True
        self.skew_tolerance_s = 300
        self.session_lifetime_s = None
        self.sts = Sts(self)
        self.imds = Imds(self)
        self.container = Container(self)
        self.codeguru = CodeGuru(self)
        ports = config.get("ports", {})
        self._servers = {
            name: ServiceServer(name, getattr(self, name), self.clock,
                                int(ports.get(name, 0)), verbose)
            for name in SERVICE_NAMES}
        self._control = None
        if control:
            self._control = ServiceServer("control", ControlApp(self), self.clock,
                                          int(ports.get("control", 0)), verbose)
        self.workdir = None
        self._load_all()

    def _load_all(self):
        if self._config.get("defaults", True):
            self.apply_config(world.DEFAULT_CONFIG)
        self.apply_config({k: v for k, v in self._config.items()
                           if k not in CONSTRUCTION_ONLY})

    # -- lifecycle --
    def start(self):
        if self.workdir is None:
            self.workdir = tempfile.mkdtemp(prefix="cgagent-emulator-")
        try:
            for server in self._servers.values():
                server.start()
            if self._control:
                self._control.start()
        except OSError:          # e.g. a fixed port in use: undo the rest
            self.stop()
            raise
        return self

    def stop(self):
        # in parallel: each server takes up to a poll interval to notice
        servers = list(self._servers.values()) + ([self._control] if self._control else [])
        threads = [threading.Thread(target=s.stop) for s in servers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def stop_service(self, name):
        """The port closes: clients get "connection refused"."""
        self._servers[name].stop()

    def start_service(self, name):
        """Serves again on the same port."""
        self._servers[name].start()

    def url(self, name):
        return self._servers[name].url

    sts_url = property(lambda self: self.url("sts"))
    imds_url = property(lambda self: self.url("imds"))
    container_url = property(lambda self: self.url("container"))
    codeguru_url = property(lambda self: self.url("codeguru"))

    @property
    def control_url(self):
        return self._control.url if self._control else None

    @property
    def control_app(self):
        return self._control.app if self._control else None

    @property
    def container_credentials_url(self):
        return self.container_url + self.container.config["path"]

    def urls(self):
        out = {"%s_url" % n: self.url(n) for n in SERVICE_NAMES}
        out["container_credentials_url"] = self.container_credentials_url
        if self._control:
            out["control_url"] = self.control_url
        return out

    # -- configuration --
    def apply_config(self, cfg):
        """Applies a config dict (the --config / POST /config shape)."""
        unknown = set(cfg) - set(SETTINGS) - set(SECTIONS) - set(CONSTRUCTION_ONLY)
        if unknown:
            raise ValueError("unknown config keys: %s" % sorted(unknown))
        for key in SETTINGS:
            if key == "reject_invalid_profiles" and key in cfg:
                self.codeguru.reject_invalid_profiles = bool(cfg[key])
            elif key == "clock_offset_s" and key in cfg:
                self.clock.offset_s = cfg[key]
            elif key in cfg:
                setattr(self, key, cfg[key])
        for acct in cfg.get("accounts", []):
            self.identities.add_account(acct["id"], acct.get("disabled_regions", ()))
        for user in cfg.get("users", []):
            self.add_user(**user)
        for role in cfg.get("roles", []):
            self.add_role(**role)
        for tok in cfg.get("web_identity_tokens", []):
            self.add_web_identity_token(**tok)
        for group in cfg.get("groups", []):
            self.add_group(**group)
        if "imds" in cfg:
            self.imds.configure(**cfg["imds"])
        if "container" in cfg:
            self.container.configure(**cfg["container"])
        for fault in cfg.get("faults", []):
            self.add_fault(**fault)

    def add_user(self, account, name, access_key_id=None, secret_access_key=None):
        """An IAM user with a long-term key; returns its Credentials."""
        return self.identities.add_user(account, name, access_key_id,
                                        secret_access_key)

    def add_role(self, account, name, trust=(), external_id=None,
                 max_session_s=3600, web_identity=False):
        """trust: account ids, principal ARNs or "*" allowed to AssumeRole."""
        return self.identities.add_role(account, name, trust, external_id,
                                        max_session_s, web_identity)

    def add_web_identity_token(self, token, expires_in_s=None, **kw):
        """A token AssumeRoleWithWebIdentity accepts (until expires_in_s)."""
        if expires_in_s is not None:
            kw["expires_at"] = self.clock.now() + expires_in_s
        return self.identities.add_web_identity_token(token, **kw)

    def disable_region(self, account, region=None):
        """STS answers RegionDisabledException for this account."""
        self.identities.add_account(account, [region or self.region])

    def issue_session(self, role_arn, session_name="cgagent-test",
                      lifetime_s=3600, source="static"):
        """Temporary credentials of a role, without an STS call."""
        role = self.identities.role(role_arn)
        if role is None:
            raise KeyError("no role %s" % role_arn)
        return self.identities.issue_session(role, session_name, lifetime_s, source)

    def credentials(self, access_key_id=world.WORKLOAD_ACCESS_KEY_ID):
        """The Credentials behind an access key (default: the workload user)."""
        return self.identities.lookup(access_key_id)

    def add_group(self, name, account=world.CENTRAL_ACCOUNT, configuration=None,
                  allowed_principals=None):
        return self.codeguru.add_group(name, account, configuration,
                                       allowed_principals)

    def set_group_configuration(self, name, **configuration):
        """Changes what ConfigureAgent answers, e.g. shouldProfile=False."""
        self.codeguru.set_configuration(self.codeguru.group(name), configuration)

    def configure_imds(self, **settings):
        self.imds.configure(**settings)

    def configure_container(self, **settings):
        self.container.configure(**settings)

    # -- faults --
    def add_fault(self, service, kind="error", **kw):
        """See faults.py; e.g. add_fault("codeguru", "error", status=500,
        operation="PostAgentProfile", count=2)."""
        unknown = set(kw) - FAULT_FIELDS
        if unknown:
            raise ValueError("unknown fault fields: %s" % sorted(unknown))
        return self.faults.add(Fault(service=service, kind=kind, **kw))

    def clear_faults(self, service=None):
        self.faults.clear(service)

    def blackhole(self, service, hold_ms=None):
        """Every request is read and never answered (until clear_faults)."""
        kw = {"hold_ms": hold_ms} if hold_ms is not None else {}
        return self.add_fault(service, "hold", count=None, **kw)

    # -- what happened --
    def requests(self, service=None, operation=None, since=0):
        return self.journal.requests(service, operation, since)

    def profiles(self, group=None, include_rejected=False):
        """Accepted PostAgentProfile documents (ProfilePost records)."""
        return self.journal.profiles(group, None if include_rejected else True)

    def duplicate_profile_tokens(self, group=None):
        return sorted({p.token for p in self.profiles(group) if p.duplicate})

    def wait_for(self, predicate, timeout=10.0, what=None):
        """Blocks until predicate() is truthy (re-checked on every recorded
        request); returns its value or raises TimeoutError."""
        return self.journal.wait_for(predicate, timeout, what)

    def wait_for_requests(self, service, operation=None, count=1, timeout=10.0,
                          where=None):
        """Waits until `count` matching requests were recorded; returns them."""
        def found():
            reqs = [r for r in self.requests(service, operation)
                    if where is None or where(r)]
            return reqs if len(reqs) >= count else None
        return self.wait_for(found, timeout, "%d %s %s request(s)"
                             % (count, service, operation or "any"))

    def wait_for_profiles(self, group=None, count=1, timeout=10.0):
        def found():
            posts = self.profiles(group)
            return posts if len(posts) >= count else None
        return self.wait_for(found, timeout, "%d profile(s) for %s"
                             % (count, group or "any group"))

    def reset(self, identities=False):
        """Forgets requests, profiles and faults; identities=True also
        reloads users, roles, groups and IMDS/container settings from the
        construction config (dropping what was added since)."""
        self.journal.clear()
        self.faults.clear()
        self.imds.tokens.clear()
        if identities:
            self.identities.clear()
            with self.codeguru.lock:
                self.codeguru.groups.clear()
            self.imds.reset()
            self.container.reset()
            self._load_all()

    # -- the environment of the process under test --
    def write_web_identity_token(self, token=world.WEB_IDENTITY_TOKEN, path=None):
        """Writes the token file a pod would have; returns its path."""
        return self._write_file("web-identity-token", token, path)

    def write_container_token(self, token, path=None):
        """Writes an AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE; returns its path."""
        return self._write_file("container-token", token, path)

    def _write_file(self, name, content, path=None):
        path = path or os.path.join(self._workdir(), name)
        with open(path, "w") as f:
            f.write(content)
        return path

    def _workdir(self):
        if self.workdir is None:
            raise RuntimeError("start the emulator first")
        return self.workdir

    def env_for(self, credentials="user", *, role_arn=world.CENTRAL_ROLE_ARN,
                group=world.GROUP, region=None, external_id=None, imds=True,
                token_file=False, ecs_metadata=False, base=None, **extra):
        """The environment for a child process that should use this emulator.

        credentials: "user" (the workload user's keys in env), "imds",
        "container", "web_identity", "none", or a Credentials object.
        role_arn: the central role (CGAGENT_ROLE_ARN), None for none.
        imds=False sets AWS_EC2_METADATA_DISABLED=true.  token_file: the
        container token goes in a file (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE).
        base: the environment to start from (default os.environ) with every
        AWS_*/CGAGENT_*/proxy variable removed.  extra: more variables.
        Shared config files point at nonexistent paths so ~/.aws is ignored."""
        base = os.environ if base is None else base
        env = {k: v for k, v in base.items()
               if not k.startswith(_SCRUB_PREFIXES) and k not in _SCRUB_NAMES}
        work = self._workdir()
        region = region or self.region
        env.update({
            "AWS_ENDPOINT_URL_STS": self.sts_url,
            "AWS_ENDPOINT_URL_CODEGURUPROFILER": self.codeguru_url,
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": self.imds_url,
            "AWS_REGION": region,
            "AWS_CONFIG_FILE": os.path.join(work, "no-such-config"),
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(work, "no-such-credentials"),
            "NO_PROXY": "127.0.0.1,localhost",
        })
        if group:
            env["AWS_CODEGURU_PROFILER_GROUP_NAME"] = group
        if role_arn:
            env["CGAGENT_ROLE_ARN"] = role_arn
        if external_id:
            env["CGAGENT_EXTERNAL_ID"] = external_id
        if not imds:
            env["AWS_EC2_METADATA_DISABLED"] = "true"
        if credentials == "user":
            env.update(self.credentials().env())
        elif credentials == "container":
            env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = self.container_credentials_url
            token = self.container.config["auth_token"]
            if token and token_file:
                env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = \
                    self.write_container_token(token)
            elif token:
                env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = token
        elif credentials == "web_identity":
            env["AWS_ROLE_ARN"] = world.WEB_IDENTITY_ROLE_ARN
            env["AWS_WEB_IDENTITY_TOKEN_FILE"] = self.write_web_identity_token()
            env["AWS_ROLE_SESSION_NAME"] = "cgagent-web-identity"
        elif hasattr(credentials, "env"):
            env.update(credentials.env())
        elif credentials not in ("imds", "none"):
            raise ValueError("unknown credentials mode %r" % (credentials,))
        if ecs_metadata:
            env["ECS_CONTAINER_METADATA_URI_V4"] = self.container_url + TASK_METADATA_BASE
        env.update(extra)
        return env
