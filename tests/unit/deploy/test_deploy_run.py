"""`make run SEED=N` hands the seeder the stack's URLs in the options the seeder reads."""

from __future__ import annotations

from deploy.run import MODULES, Stack, seed_command
from services.seed.__main__ import parse_args


def test_the_seed_command_is_one_the_seeder_accepts(tmp_path):
    stack = Stack(tmp_path, ports={"gateway": 9000, "demographics": 9001, "journal": 9002, "medication": 9003,
                                   "referrals": 9004})  # fmt: skip
    command = seed_command(stack, 7)
    assert command[1:3] == ["-m", "services.seed"]
    args = parse_args(command[3:])
    assert args.patients == 7
    assert {name: getattr(args, name) for name in MODULES} == {name: stack.url(name) for name in MODULES}
