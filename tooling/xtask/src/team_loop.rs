//! What a team's own run (`cargo xtask test <service>`) takes of the
//! cross-service tests: the contracts, the journey every service is in,
//! the tests its name matches and the modules listed for it here. The
//! cross-service binary checks that each filter still names a test.

/// The cross-service tests (`tests/tests/all/`) each service's own loop
/// takes, by module or name, beside the ones its name matches and the
/// journey every service is in (`e2e::`). Each must match a test
/// (`layout::root::each_teams_filters_name_a_test`).
pub const SYSTEM_TESTS: &[(&str, &[&str])] = &[
    ("users", &["identity", "federation"]),
    ("todos", &["api::"]),
    ("notifications", &["websocket::"]),
    ("campaigns", &["flow::"]),
];

/// What every team's run takes of the cross-service binary.
pub const EVERY_TEAM: &[&str] = &["contracts::", "e2e::"];

/// The filters of `all` a team's run takes for `service`.
pub fn system_tests(service: &str) -> Vec<String> {
    let own = (SYSTEM_TESTS.iter())
        .find(|(s, _)| *s == service)
        .map_or(&[][..], |(_, f)| *f);
    let mut filters: Vec<String> = EVERY_TEAM.iter().map(|f| (*f).to_owned()).collect();
    filters.push(service.to_owned());
    filters.extend(own.iter().map(|f| (*f).to_owned()));
    filters
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_team_takes_the_contracts_the_journey_and_its_own() {
        let todos = system_tests("todos");
        assert_eq!(todos, ["contracts::", "e2e::", "todos", "api::"]);
        // A fifth service, before anyone lists its tests: its name's.
        assert_eq!(
            system_tests("invoices"),
            ["contracts::", "e2e::", "invoices"]
        );
    }

    #[test]
    fn the_list_names_only_services() {
        for (service, _) in SYSTEM_TESTS {
            assert!(repo::SERVICES.contains(service), "{service}");
        }
    }
}
