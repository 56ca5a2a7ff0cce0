"""Values derived from the rules are built once per Rules object, and again for new rules."""

from __future__ import annotations

from service.core.config import PerRules, Rules, load_rules
from service.minutes.drafts import vocabulary


def test_a_derived_value_is_built_once_for_the_same_rules_and_again_for_others() -> None:
    built: list[Rules] = []

    def build(rules: Rules) -> int:
        built.append(rules)
        return len(built)

    derived = PerRules(build)
    first, second = load_rules(), load_rules()
    assert [derived(first), derived(first), derived(second), derived(second), derived(first)] == [
        1,
        1,
        2,
        2,
        3,
    ]
    assert built == [first, second, first]


def test_changed_rules_get_their_own_vocabulary() -> None:
    rules = load_rules()
    columns = {**rules.parsing["columns"], "owner": [*rules.parsing["columns"]["owner"], "牵头的人"]}
    changed = rules.model_copy(update={"parsing": {**rules.parsing, "columns": columns}})
    assert vocabulary(rules) is vocabulary(rules)
    assert vocabulary(rules).column_of("牵头的人") is None
    assert vocabulary(changed).column_of("牵头的人") == "owner"
    assert vocabulary(rules).column_of("牵头的人") is None
