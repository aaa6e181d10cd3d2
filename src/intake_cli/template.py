"""template.yaml read as data: functions with their routes and queues, resources, and intrinsics.

The local stack and the tests build everything from this, so neither can drift from the template.
The template generates its per-vendor resources with Fn::ForEach over a vendor table; SAM CLI's own
language-extension processors expand it (see ``expand``), and everything here reads the result.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    Condition = Callable[[str, dict[str, Any]], bool]

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"


class TemplateError(ValueError):
    """The template cannot be read, or uses something the local stack does not resolve."""


@dataclass(frozen=True)
class Route:
    """One HTTP API route of a function."""

    method: str
    path: str
    function_id: str

    @property
    def route_key(self) -> str:
        """API Gateway's ``routeKey``: ``METHOD /path``."""
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class QueueSource:
    """An SQS event source mapping."""

    queue_id: str
    function_id: str
    batch_size: int
    batching_window: int
    max_concurrency: int | None
    report_batch_item_failures: bool


@dataclass
class FunctionSpec:
    """An ``AWS::Serverless::Function`` with its Globals applied."""

    logical_id: str
    handler: str
    code_uri: str
    timeout: int
    memory_size: int
    environment: dict[str, Any]
    routes: list[Route] = field(default_factory=list)
    queue_sources: list[QueueSource] = field(default_factory=list)
    lambda_environment: dict[str, str] = field(default_factory=dict)
    """What Lambda itself adds to the environment from the function's configuration (its logging)."""

    @property
    def app_path(self) -> Path:
        """The handler's module file."""
        module, _, _ = self.handler.rpartition(".")
        return ROOT / self.code_uri / f"{module.replace('.', '/')}.py"

    @property
    def handler_name(self) -> str:
        """The handler's attribute name in its module."""
        return self.handler.rpartition(".")[2]


class SamTemplate:
    """template.yaml with parameter values (defaults, unless overridden)."""

    def __init__(self, path: Path = TEMPLATE_PATH, parameters: dict[str, Any] | None = None) -> None:
        self.path = path
        self.document: dict[str, Any] = expanded(path)
        self.resources: dict[str, dict[str, Any]] = dict(self.document.get("Resources", {}))
        self.parameters: dict[str, Any] = {
            name: spec.get("Default") for name, spec in self.document.get("Parameters", {}).items()
        }
        self.parameters.update(parameters or {})

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """Properties of every resource of ``resource_type``, by logical id."""
        return {
            logical_id: dict(resource.get("Properties", {}))
            for logical_id, resource in self.resources.items()
            if resource.get("Type") == resource_type
        }

    def functions(self) -> list[FunctionSpec]:
        """Every serverless function, Globals applied, events read."""
        globals_ = dict(self.document.get("Globals", {}).get("Function", {}))
        global_env = dict(globals_.get("Environment", {}).get("Variables", {}))
        specs = []
        for logical_id, props in self.of_type("AWS::Serverless::Function").items():
            env = {**global_env, **dict(props.get("Environment", {}).get("Variables", {}))}
            spec = FunctionSpec(
                logical_id=logical_id,
                handler=str(props.get("Handler", globals_.get("Handler"))),
                code_uri=str(props.get("CodeUri", globals_.get("CodeUri", ""))),
                timeout=int(self.value(props.get("Timeout", globals_.get("Timeout", 3)))),
                memory_size=int(self.value(props.get("MemorySize", globals_.get("MemorySize", 128)))),
                environment=env,
                lambda_environment=self._logging_variables(
                    {**globals_.get("LoggingConfig", {}), **props.get("LoggingConfig", {})}
                ),
            )
            for event in dict(props.get("Events", {})).values():
                self._add_event(spec, event.get("Type"), dict(event.get("Properties", {})))
            specs.append(spec)
        by_id = {spec.logical_id: spec for spec in specs}
        for mapping in self.of_type("AWS::Lambda::EventSourceMapping").values():
            spec = by_id[_getatt_target(mapping["FunctionName"])]
            self._add_event(spec, "SQS", {**mapping, "Queue": mapping["EventSourceArn"]})
        return specs

    def _logging_variables(self, config: dict[str, Any]) -> dict[str, str]:
        """What Lambda sets from a function's ``LoggingConfig``: with JSON logs, the application log
        level, which Powertools takes before its own ``POWERTOOLS_LOG_LEVEL``."""
        if config.get("LogFormat") != "JSON":
            return {}
        variables = {"AWS_LAMBDA_LOG_FORMAT": "JSON"}
        level = config.get("ApplicationLogLevel")
        if isinstance(level, dict) and list(level) == ["Fn::FindInMap"]:
            name, first, second = (self.value(key) for key in level["Fn::FindInMap"])
            level = self.document["Mappings"][name][first][second]
        if level is not None:
            variables["AWS_LAMBDA_LOG_LEVEL"] = str(self.value(level)).upper()
        return variables

    def _add_event(self, spec: FunctionSpec, event_type: str, props: dict[str, Any]) -> None:
        if event_type == "HttpApi":
            spec.routes.append(Route(str(props["Method"]).upper(), str(props["Path"]), spec.logical_id))
        elif event_type == "SQS":
            scaling = props.get("ScalingConfig") or {}
            concurrency = scaling.get("MaximumConcurrency")
            spec.queue_sources.append(
                QueueSource(
                    queue_id=_getatt_target(props["Queue"]),
                    function_id=spec.logical_id,
                    batch_size=int(self.value(props.get("BatchSize", 10))),
                    batching_window=int(self.value(props.get("MaximumBatchingWindowInSeconds", 0))),
                    max_concurrency=int(self.value(concurrency)) if concurrency is not None else None,
                    report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
                )
            )

    def value(self, value: Any, refs: dict[str, str] | None = None, attrs: dict[str, str] | None = None) -> Any:
        """Resolve intrinsics: ``Ref`` to parameters, pseudo parameters or ``refs``; ``GetAtt``; ``Sub``;
        ``If`` on the template's Conditions (a branch of ``AWS::NoValue`` leaves the key out)."""
        refs = {**self.parameters, **(refs or {})}
        attrs = attrs or {}
        resolved = _resolve(value, refs, attrs, self.condition)
        return None if resolved is _NO_VALUE else resolved

    def condition(self, name: str, refs: dict[str, Any] | None = None) -> bool:
        """A condition of the template's Conditions section, on the current parameter values."""
        conditions = dict(self.document.get("Conditions", {}))
        if name not in conditions:
            raise TemplateError(f"no condition {name!r}")
        return bool(_resolve(conditions[name], {**self.parameters, **(refs or {})}, {}, self.condition))


_parsed: dict[tuple[Path, str], dict[str, Any]] = {}
_expanded: dict[tuple[Path, str], dict[str, Any]] = {}


def _key(path: Path) -> tuple[Path, str]:
    """What the caches are keyed by: the path and the text it holds now."""
    try:
        return path, path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"cannot read {path}: {exc}") from exc


def read(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The template document as written (Fn::ForEach unexpanded), parsed as SAM CLI parses it.

    Parsing YAML in pure Python takes a few hundred milliseconds; a process that loads the same
    text again (the test suite provisions hundreds of stacks) gets a copy of the first parse.
    """
    return copy.deepcopy(_read(_key(path)))


def _read(key: tuple[Path, str]) -> dict[str, Any]:
    # SAM CLI is imported here, not at module level, so that `intake --help` stays fast.
    from samcli.yamlhelper import yaml_parse

    path, text = key
    if key not in _parsed:
        try:
            _parsed[key] = yaml_parse(text)
        except ValueError as exc:
            raise TemplateError(f"cannot read {path}: {exc}") from exc
    document = _parsed[key]
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError(f"{path} is not a template")
    return document


def expanded(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The template at ``path`` with its loops expanded; a copy of the first expansion of the same text."""
    key = _key(path)
    if key not in _expanded:
        _expanded[key] = expand(copy.deepcopy(_read(key)))
    return copy.deepcopy(_expanded[key])


def expand(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with its Fn::ForEach loops expanded, as the AWS::LanguageExtensions transform does.

    The processors are SAM CLI's own (``samcli.lib.cfn_language_extensions``), with two resolvers:
    Fn::FindInMap (the vendor table), and Fn::Sub where it names a resource of the loop
    (``Ref: !Sub ${Stem}Queue``) or leaves nothing else to substitute. SAM CLI's default pipeline,
    the one `sam build` runs, also resolves every other intrinsic it can with the parameters'
    defaults and turns each Fn::Sub into a plain string; CloudFormation keeps those for deploy time,
    and so does this, for the local stack to resolve against a stack of its own (``SamTemplate.value``).
    """
    from samcli.lib.cfn_language_extensions.api import IntrinsicResolverProcessor
    from samcli.lib.cfn_language_extensions.exceptions import InvalidTemplateException
    from samcli.lib.cfn_language_extensions.models import ResolutionMode, TemplateProcessingContext
    from samcli.lib.cfn_language_extensions.pipeline import ProcessingPipeline
    from samcli.lib.cfn_language_extensions.processors import ForEachProcessor, TemplateParsingProcessor
    from samcli.lib.cfn_language_extensions.resolvers import FnFindInMapResolver, FnSubResolver, IntrinsicResolver

    class LoopSubResolver(FnSubResolver):  # type: ignore[misc]
        """Fn::Sub resolved only when its variable map gives every placeholder a plain value.

        A variable whose value is still an intrinsic (``Fn::Select`` of the stack id, say) stays
        for CloudFormation: substituted here, it would become Python's text of a dict.
        """

        def resolve(self, value: dict[str, Any]) -> Any:
            template_string, variables = self._parse_args(self.get_function_args(value))
            variables = self._resolve_variable_map(variables)
            names = _SUB.findall(template_string)
            if all(name in variables and isinstance(variables[name], str | int | float) for name in names):
                return self._substitute(template_string, variables)
            return {"Fn::Sub": [template_string, variables] if variables else template_string}

    context = TemplateProcessingContext(fragment=copy.deepcopy(document), resolution_mode=ResolutionMode.PARTIAL)
    resolver = IntrinsicResolver(context)
    resolver.register_resolver(FnFindInMapResolver)
    resolver.register_resolver(LoopSubResolver)
    pipeline = ProcessingPipeline(
        [
            TemplateParsingProcessor(),
            ForEachProcessor(intrinsic_resolver=resolver),
            IntrinsicResolverProcessor(resolver),
        ]
    )
    try:
        expanded: dict[str, Any] = pipeline.process_template(context)
    except InvalidTemplateException as exc:
        raise TemplateError(f"cannot expand the template: {exc}") from exc
    return expanded


def _getatt_target(value: Any) -> str:
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        return str(target[0] if isinstance(target, list) else str(target).split(".")[0])
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    raise TemplateError(f"cannot tell which resource {value!r} names")


_SUB = re.compile(r"\$\{([^}!]+)\}")


_NO_VALUE = object()
"""``Ref: AWS::NoValue``: the key (or list element) holding it is left out."""


def _resolve(value: Any, refs: dict[str, Any], attrs: dict[str, str], condition: Condition) -> Any:
    if isinstance(value, dict):
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" or key.startswith("Fn::"):
                return _intrinsic(key, arg, refs, attrs, condition)
        resolved = {k: _resolve(v, refs, attrs, condition) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}
    if isinstance(value, list):
        return [item for item in (_resolve(v, refs, attrs, condition) for v in value) if item is not _NO_VALUE]
    return value


def _intrinsic(key: str, arg: Any, refs: dict[str, Any], attrs: dict[str, str], condition: Condition) -> Any:  # noqa: PLR0911
    if key == "Ref":
        return _NO_VALUE if arg == "AWS::NoValue" else _lookup(str(arg), refs, attrs)
    if key == "Fn::GetAtt":
        return _lookup(".".join(arg) if isinstance(arg, list) else str(arg), refs, attrs)
    if key == "Fn::Sub":
        text, extra = (arg[0], arg[1]) if isinstance(arg, list) else (arg, {})
        local = {**refs, **{k: _resolve(v, refs, attrs, condition) for k, v in dict(extra).items()}}
        return _SUB.sub(lambda m: str(_lookup(m.group(1), local, attrs)), str(text))
    if key == "Fn::Join":
        separator, items = arg
        return str(separator).join(str(_resolve(item, refs, attrs, condition)) for item in items)
    if key == "Fn::If":
        name, when_true, when_false = arg
        return _resolve(when_true if condition(str(name), refs) else when_false, refs, attrs, condition)
    if key == "Fn::Equals":
        left, right = (_resolve(item, refs, attrs, condition) for item in arg)
        return str(left) == str(right)
    if key == "Fn::Not":
        return not _resolve(arg[0], refs, attrs, condition)
    if key in ("Fn::And", "Fn::Or"):
        results = [bool(_resolve(item, refs, attrs, condition)) for item in arg]
        return all(results) if key == "Fn::And" else any(results)
    if key == "Condition":
        return condition(str(arg), refs)
    raise TemplateError(f"the local stack does not resolve {key}")


def _lookup(name: str, refs: dict[str, Any], attrs: dict[str, str]) -> Any:
    if name in refs:
        return refs[name]
    if name in attrs:
        return attrs[name]
    raise TemplateError(f"{name!r} names no parameter or resource of the template")


def main() -> None:
    """Print the expanded template as JSON, for tools that do not expand Fn::ForEach (checkov)."""
    json.dump(expand(read()), sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
