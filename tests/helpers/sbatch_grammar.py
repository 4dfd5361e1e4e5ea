"""sbatch's documented value grammar (slurm.schedmd.com/sbatch.html), strictly, for every directive and
command-line option corpus-prep generates. Real sbatch rejects what this rejects (`--mem-per-cpu=2.0G`
gave "Invalid --mem-per-cpu specification" on slurm 22.05); the `slurm` tests also ask sbatch itself."""

import re

NAME = r"[A-Za-z0-9_.+-]+"
TIME = (
    r"(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}"  # minutes, minutes:seconds, hours:minutes:seconds
    r"|\d+-\d{1,2}|\d+-\d{1,2}:\d{1,2}|\d+-\d{1,2}:\d{1,2}:\d{1,2})"  # days-hours[:minutes[:seconds]]
)
ARRAY_RANGE = r"\d+(-\d+(:\d+)?)?"
DEPENDENCY_ITEM = r"(after|afterany|afterburstbuffer|aftercorr|afternotok|afterok)(:\d+(_\d+)?(\+\d+)?)+"
VALUE_GRAMMAR = {
    "account": NAME,
    "array": rf"{ARRAY_RANGE}(,{ARRAY_RANGE})*(%\d+)?",
    "chdir": r"/\S*",
    "constraint": r"\S+",
    "cpus-per-task": r"[1-9]\d*",
    "dependency": rf"({DEPENDENCY_ITEM}([,?]{DEPENDENCY_ITEM})*|singleton)",
    "error": r"/\S+",
    "export": r"(ALL|NONE|NIL)(,[A-Za-z_][A-Za-z0-9_]*=\S*)*",
    "job-name": r"\S+",
    "kill-on-invalid-dep": r"(yes|no)",
    "mem-per-cpu": r"[1-9]\d*[KMGT]?",
    "nodes": r"[1-9]\d*(-[1-9]\d*)?",
    "output": r"/\S+",
    "partition": rf"{NAME}(,{NAME})*",
    "qos": NAME,
    "requeue": None,  # a flag: no value
    "time": TIME,
}


def check_option(key: str, value: str | None) -> str | None:
    """The problem with one `--key[=value]`, or None when sbatch's grammar accepts it."""
    if key not in VALUE_GRAMMAR:
        return f"--{key}: not an option this checker knows (add its documented grammar)"
    grammar = VALUE_GRAMMAR[key]
    if grammar is None:
        return None if value is None else f"--{key} takes no value, got {value!r}"
    if value is None or not re.fullmatch(grammar, value):
        return f"--{key}={value}: does not match sbatch's grammar {grammar}"
    return None


def problems(script: str, command_line: list[str]) -> list[str]:
    """Every directive of a batch script and every option on its sbatch command line that sbatch's
    grammar rejects; also a script that does not start with a shebang or has no directive."""
    found = []
    lines = script.splitlines()
    if not lines or not lines[0].startswith("#!"):
        found.append("the script does not start with #!")
    directives = [line[len("#SBATCH ") :] for line in lines if line.startswith("#SBATCH ")]
    if not directives:
        found.append("no #SBATCH directive")
    for option in directives + list(command_line):
        match = re.fullmatch(r"--([a-z-]+)(?:=(.*))?", option)
        if not match:
            found.append(f"{option!r}: not --key[=value]")
            continue
        problem = check_option(match.group(1), match.group(2))
        if problem:
            found.append(problem)
    return found
