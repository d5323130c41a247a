"""TLS principal mapping rules in the style of Kafka's ssl.principal.mapping.rules."""

import doctest

import pytest

from chargeback.gateway.identity import (
    PrincipalMappingError,
    _principal_mapping,
    map_principal,
    parse_mapping_rules,
    subject_from_peer_certificate,
)


def test_the_doctests_of_the_mapping_module_pass() -> None:
    # Given the module's examples
    # When they run
    failures, tests = doctest.testmod(_principal_mapping)
    # Then they all pass
    assert tests > 0
    assert failures == 0


@pytest.mark.parametrize(
    ("rules", "subject", "principal"),
    [
        # Examples from Kafka's documentation of ssl.principal.mapping.rules.
        (
            "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),"
            "ST=(.*?),C=(.*?)$/$1@$2/L,RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L,DEFAULT",
            "CN=serviceuser,OU=ServiceUsers,O=Unknown,L=Unknown,ST=Unknown,C=Unknown",
            "serviceuser",
        ),
        (
            "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),"
            "ST=(.*?),C=(.*?)$/$1@$2/L,RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L,DEFAULT",
            "CN=adminUser,OU=Admin,O=Unknown,L=Unknown,ST=Unknown,C=Unknown",
            "adminuser@admin",
        ),
        ("RULE:^CN=([^,]*).*$/$1/U", "CN=orders,O=Acme", "ORDERS"),
        ("DEFAULT", "CN=a,O=b", "CN=a,O=b"),
        ("RULE:^O=(.*)$/org-$1/, DEFAULT", "CN=a,O=b", "CN=a,O=b"),
        (r"RULE:^CN=(.*)$/team\/$1/", "CN=x", "team/x"),
        (r"RULE:^CN=(.*)$/cost\$$1/", "CN=x", "cost$x"),
    ],
)
def test_first_matching_rule_decides_the_principal(
    rules: str, subject: str, principal: str
) -> None:
    # Given a rule list
    parsed = parse_mapping_rules(rules)
    # When a subject is mapped
    mapped = map_principal(subject, parsed)
    # Then the first rule that matches the whole subject gives the principal
    assert mapped == principal


def test_subject_that_no_rule_matches_is_refused_with_the_subject_named() -> None:
    # Given rules without DEFAULT
    rules = parse_mapping_rules("RULE:^CN=(.*),OU=Kafka$/$1/")
    # When a subject from another OU is mapped
    # Then it is refused, naming the subject
    with pytest.raises(PrincipalMappingError, match="CN=x,OU=Other"):
        map_principal("CN=x,OU=Other", rules)


def test_a_rule_that_maps_to_an_empty_name_is_refused_not_charged_to_nobody() -> None:
    # Given a rule whose group can be empty, and no later rule
    rules = parse_mapping_rules("RULE:^CN=([^,]*),OU=Kafka$/$1/")
    # When a subject with an empty CN is mapped
    # Then it is refused (an empty service account cannot be stored)
    with pytest.raises(PrincipalMappingError, match="'CN=,OU=Kafka' gives an empty name"):
        map_principal("CN=,OU=Kafka", rules)


@pytest.mark.parametrize(
    ("rules", "problem"),
    [
        ("RULE:^CN=(.*)$/$1", "closing"),
        ("RULE:^CN=(.*$/$1/", "regex"),
        ("SOMETHING", "neither DEFAULT"),
        ("DEFAULT DEFAULT", "expected ','"),
        ("  ", "empty"),
    ],
)
def test_malformed_rules_are_refused_with_a_reason(rules: str, problem: str) -> None:
    # Given a malformed rule list
    # When it is parsed
    # Then the error says what is wrong
    with pytest.raises(PrincipalMappingError, match=problem):
        parse_mapping_rules(rules)


def test_peer_certificate_subject_becomes_rfc_2253_most_specific_first() -> None:
    # Given the subject as Python's ssl module returns it (certificate order, C first)
    subject = (
        (("countryName", "DE"),),
        (("organizationName", "Acme, Inc."),),
        (("organizationalUnitName", "Kafka"),),
        (("commonName", "svc-orders"),),
    )
    # When it is formatted
    text = subject_from_peer_certificate(subject)
    # Then it reads like Java's X500Principal.getName(), with the comma escaped
    assert text == "CN=svc-orders,OU=Kafka,O=Acme\\, Inc.,C=DE"
