//! Prices pinned to Anthropic's published per-MTok table (reference doc, section 2.4) and to the
//! pricing rules; the expected values are written out, never derived from the table under test.

use super::*;

const MTOK: u64 = 1_000_000;

fn day(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap()
}

/// A date after every cut-over in the table.
fn today() -> NaiveDate {
    day(2026, 8, 20)
}

fn usd(dollars: f64) -> Pico {
    Pico::from_usd(dollars)
}

fn usage(input: u64, write_5m: u64, write_1h: u64, read: u64, output: u64) -> Usage {
    Usage {
        input_tokens: input,
        output_tokens: output,
        cache_creation_5m_tokens: write_5m,
        cache_creation_1h_tokens: write_1h,
        cache_read_tokens: read,
        web_search_requests: 0,
    }
}

fn facts<'a>(model: &'a str, usage: &'a Usage) -> ResponseFacts<'a> {
    ResponseFacts { model, usage, speed: Speed::Standard, inference_geo: None, date: today() }
}

fn cost(facts: ResponseFacts) -> Pico {
    PriceTable::builtin().price(&facts).cost
}

fn cost_of(model: &str, usage: &Usage) -> Pico {
    cost(facts(model, usage))
}

/// `tokens` of one bucket at a time: input, 5-minute write, 1-hour write, read, output.
fn bucket_costs(model: &str, tokens: u64) -> [Pico; 5] {
    [
        usage(tokens, 0, 0, 0, 0),
        usage(0, tokens, 0, 0, 0),
        usage(0, 0, tokens, 0, 0),
        usage(0, 0, 0, tokens, 0),
        usage(0, 0, 0, 0, tokens),
    ]
    .map(|usage| cost_of(model, &usage))
}

fn assert_per_mtok(model: &str, in_5m_1h_read_out: [f64; 5]) {
    assert_eq!(bucket_costs(model, MTOK), in_5m_1h_read_out.map(usd), "{model}");
}

// Published prices, one million tokens of each bucket.

#[test]
fn opus_4_5_to_4_8_and_opus_5_cost_the_published_prices() {
    for model in [
        "claude-opus-4-5",
        "claude-opus-4-5-20251101",
        "claude-opus-4-6",
        "claude-opus-4-7",
        "claude-opus-4-8",
        "claude-opus-5",
    ] {
        assert_per_mtok(model, [5.0, 6.25, 10.0, 0.5, 25.0]);
    }
}

#[test]
fn haiku_4_5_costs_the_published_prices() {
    assert_per_mtok("claude-haiku-4-5-20251001", [1.0, 1.25, 2.0, 0.1, 5.0]);
}

#[test]
fn opus_4_and_4_1_cost_the_published_prices() {
    for model in ["claude-opus-4-1", "claude-opus-4-1-20250805", "claude-opus-4-20250514"] {
        assert_per_mtok(model, [15.0, 18.75, 30.0, 1.5, 75.0]);
    }
}

#[test]
fn sonnet_5_costs_the_published_prices() {
    assert_per_mtok("claude-sonnet-5", [2.0, 2.5, 4.0, 0.2, 10.0]);
}

#[test]
fn opus_5_5_costs_the_litellm_prices() {
    // Not in the reference doc's table; LiteLLM lists $4 / $20 with reads at 0.05x input.
    assert_per_mtok("claude-opus-5-5", [4.0, 5.0, 8.0, 0.2, 20.0]);
}

#[test]
fn sonnet_4_5_and_4_6_cost_the_published_prices_below_200k() {
    for model in ["claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "claude-sonnet-4-6"] {
        let expected = [0.3, 0.375, 0.6, 0.03, 1.5].map(usd);
        assert_eq!(bucket_costs(model, 100_000), expected, "{model}");
    }
}

#[test]
fn sonnet_4_5_million_token_prompts_are_premium_but_output_alone_is_not() {
    // Each prompt bucket alone is over 200k; output is not part of the prompt.
    assert_per_mtok("claude-sonnet-4-5", [6.0, 7.5, 12.0, 0.6, 15.0]);
}

#[test]
fn sonnet_4_6_has_no_premium_after_2026_03_31() {
    assert_per_mtok("claude-sonnet-4-6", [3.0, 3.75, 6.0, 0.3, 15.0]);
}

// Cache writes.

#[test]
fn one_hour_writes_cost_more_than_five_minute_writes() {
    let five_minutes = cost_of("claude-opus-4-5", &usage(0, 1000, 0, 0, 0));
    let one_hour = cost_of("claude-opus-4-5", &usage(0, 0, 1000, 0, 0));
    assert_eq!((five_minutes, one_hour), (usd(0.00625), usd(0.01)));
}

#[test]
fn one_hour_writes_are_twice_input_where_the_table_says_otherwise() {
    // LiteLLM lists 6e-6 per token for all of these.
    let one_hour = usage(0, 0, MTOK, 0, 0);
    assert_eq!(cost_of("claude-3-haiku-20240307", &one_hour), usd(0.5));
    assert_eq!(cost_of("claude-3-opus-20240229", &one_hour), usd(30.0));
    assert_eq!(cost_of("claude-3-5-haiku-20241022", &one_hour), usd(1.6));
}

// Long context.

#[test]
fn a_prompt_of_exactly_200k_is_standard() {
    let at_threshold = usage(50_000, 50_000, 0, 100_000, 1000);
    let expected = usd(0.3825);
    assert_eq!(cost_of("claude-sonnet-4-5", &at_threshold), expected);
}

#[test]
fn one_token_over_200k_bills_every_token_at_premium() {
    let just_over = usage(1, 100_000, 1, 99_999, 10_000);
    let expected = 6_000_000 + 7_500_000 * 100_000 + 12_000_000 + 600_000 * 99_999 + 22_500_000 * 10_000;
    assert_eq!(cost_of("claude-sonnet-4-5", &just_over), Pico(expected));
}

#[test]
fn long_context_one_hour_writes_are_twice_the_premium_input() {
    let writes = usage(0, 0, 300_000, 0, 0);
    assert_eq!(cost_of("claude-sonnet-4-5", &writes), usd(3.6));
}

#[test]
fn sonnet_4_keeps_the_premium_after_2026_03_31() {
    let long = usage(300_000, 0, 0, 0, 0);
    assert_eq!(cost_of("claude-sonnet-4-20250514", &long), usd(1.8));
}

#[test]
fn opus_4_6_premium_ends_on_2026_03_31() {
    let long = usage(300_000, 0, 0, 0, 10_000);
    for model in ["claude-opus-4-6", "claude-opus-4-6-20260205"] {
        let on = |date| cost(ResponseFacts { date, ..facts(model, &long) });
        assert_eq!(on(day(2026, 3, 30)), usd(3.375), "{model}");
        assert_eq!(on(day(2026, 3, 31)), usd(1.75), "{model}");
    }
}

#[test]
fn haiku_5_5_has_a_100k_tier() {
    assert_eq!(cost_of("claude-haiku-5-5", &usage(100_000, 0, 0, 0, 0)), usd(0.01));
    assert_eq!(cost_of("claude-haiku-5-5", &usage(100_001, 0, 0, 0, 0)), Pico(100_001 * 500_000));
}

// Names.

fn same_entry(table: &PriceTable, name: &str, canonical: &str) -> bool {
    match (table.rates(name), table.rates(canonical)) {
        (Some(found), Some(expected)) => std::ptr::eq(found, expected),
        _ => false,
    }
}

#[test]
fn one_m_suffix_is_the_same_model_at_the_same_price() {
    let table = PriceTable::builtin();
    assert!(same_entry(&table, "claude-opus-4-7[1m]", "claude-opus-4-7"));
    let long = usage(300_000, 0, 0, 0, 0);
    assert_eq!(cost_of("claude-sonnet-4-5-20250929[1m]", &long), usd(1.8));
}

#[test]
fn dated_bedrock_and_vertex_names_find_their_entry() {
    let table = PriceTable::builtin();
    for (name, canonical) in [
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5-20250929"),
        ("anthropic.claude-opus-4-1-20250805-v1:0", "claude-opus-4-1-20250805"),
        ("bedrock/us-east-1/global.anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5-20251001"),
        ("bedrock/claude_platform/claude-opus-4-6", "claude-opus-4-6"),
        ("eu.anthropic.claude-opus-4-7", "claude-opus-4-7"),
        ("vertex_ai/claude-opus-4-1@20250805", "claude-opus-4-1-20250805"),
        ("vertex_ai/claude-opus-5-5@default", "claude-opus-5-5"),
        ("anthropic/claude-sonnet-4.5", "claude-sonnet-4-5"),
        ("claude-opus-4.8", "claude-opus-4-8"),
        ("Claude-Opus-4-8", "claude-opus-4-8"),
        ("claude-opus-4-8-20261201", "claude-opus-4-8"),
    ] {
        assert!(same_entry(&table, name, canonical), "{name} should be {canonical}");
    }
}

#[test]
fn anthropic_aliases_cost_what_they_resolve_to() {
    let table = PriceTable::builtin();
    for (alias, model) in
        [("claude-opus-4-0", "claude-opus-4-20250514"), ("claude-sonnet-4-0", "claude-sonnet-4-20250514")]
    {
        assert!(table.rates(alias).is_some(), "{alias}");
        assert_eq!(table.rates(alias), table.rates(model), "{alias}");
    }
}

#[test]
fn look_alike_names_stay_unknown() {
    let table = PriceTable::builtin();
    for name in ["gpt-5", "claude-opus-4-8-turbo", "claude-opus-9", "claude-opus-4-8-2026", ""] {
        assert_eq!(table.rates(name), None, "{name}");
    }
}

#[test]
fn normalize_strips_suffixes_prefixes_and_versions() {
    for (name, normalized) in [
        ("claude-opus-4-7[1m]", "claude-opus-4-7"),
        ("us.anthropic.claude-opus-4-1-20250805-v1:0", "claude-opus-4-1-20250805"),
        ("bedrock/eu-central-1/anthropic.claude-sonnet-4-5-v2:0", "claude-sonnet-4-5"),
        ("vertex_ai/claude-haiku-4-5@20251001", "claude-haiku-4-5-20251001"),
        ("Claude-Opus-4.8", "claude-opus-4-8"),
        ("claude-devstral-v2", "claude-devstral-v2"),
    ] {
        assert_eq!(normalize(name), normalized);
    }
}

// Fast mode and US inference.

fn fast_output_ratio(model: &str) -> u64 {
    let output = usage(0, 0, 0, 0, MTOK);
    let fast = cost(ResponseFacts { speed: Speed::Fast, ..facts(model, &output) });
    fast.0 / cost_of(model, &output).0
}

#[test]
fn fast_mode_costs_the_published_multiple() {
    for (model, multiplier) in [
        ("claude-opus-4-6", 6),
        ("claude-opus-4-6-20260205", 6),
        ("claude-opus-4-7-20260416", 6),
        ("claude-opus-4-8", 2),
        ("claude-opus-5", 2),
        ("claude-opus-5-5", 2),
        ("claude-sonnet-4-5", 1),
        ("some-unknown-model", 1),
    ] {
        assert_eq!(fast_output_ratio(model), multiplier, "{model}");
    }
}

fn with_geo(model: &str, geo: Option<&str>) -> Pico {
    let input = usage(MTOK, 0, 0, 0, 0);
    cost(ResponseFacts { inference_geo: geo, ..facts(model, &input) })
}

#[test]
fn us_inference_costs_1_1x_on_models_that_list_it() {
    assert_eq!(with_geo("claude-opus-4-6", Some("us")), usd(5.5));
    assert_eq!(with_geo("claude-opus-4-6", Some("global")), usd(5.0));
    assert_eq!(with_geo("claude-opus-4-6", None), usd(5.0));
    assert_eq!(with_geo("claude-opus-4-5", Some("us")), usd(5.0));
}

#[test]
fn fast_and_us_multipliers_compound() {
    let output = usage(0, 0, 0, 0, MTOK);
    let both = ResponseFacts { speed: Speed::Fast, inference_geo: Some("us"), ..facts("claude-opus-4-8", &output) };
    assert_eq!(cost(both), usd(55.0));
}

#[test]
fn us_multiplier_rounds_half_up_in_integers() {
    let mut table = PriceTable::builtin();
    let one_pico = Rates { input: 1, us_geo_multiplier: true, ..Rates::from_usd_per_mtok(0.0, 0.0, None, None, None) };
    table.set_override("tiny", one_pico);
    let us_cost = |tokens| {
        let input = usage(tokens, 0, 0, 0, 0);
        let us = ResponseFacts { inference_geo: Some("us"), ..facts("tiny", &input) };
        table.price(&us).cost
    };
    assert_eq!((us_cost(4), us_cost(5), us_cost(6)), (Pico(4), Pico(6), Pico(7)));
}

// Web search, synthetic lines, unknown models, overrides.

#[test]
fn web_search_is_a_cent_per_request_after_the_multipliers() {
    let searches = Usage { web_search_requests: 3, ..Usage::default() };
    assert_eq!(cost_of("claude-sonnet-4-5", &searches), usd(0.03));
    let busy = Usage { web_search_requests: 2, ..usage(MTOK, 0, 0, 0, 0) };
    let fast_us = ResponseFacts { speed: Speed::Fast, inference_geo: Some("us"), ..facts("claude-opus-4-6", &busy) };
    assert_eq!(cost(fast_us), usd(33.02));
}

#[test]
fn web_search_is_billed_on_unknown_models() {
    let searches = Usage { web_search_requests: 1, ..Usage::default() };
    let price = PriceTable::builtin().price(&facts("mystery", &searches));
    assert_eq!(price, Price { cost: usd(0.01), known_model: false });
}

#[test]
fn synthetic_lines_are_free() {
    let busy = Usage { web_search_requests: 5, ..usage(MTOK, MTOK, MTOK, MTOK, MTOK) };
    let price = PriceTable::builtin().price(&facts("<synthetic>", &busy));
    assert_eq!(price, Price { cost: Pico(0), known_model: true });
    assert!(is_free_model("<synthetic>") && !is_free_model("synthetic"));
}

#[test]
fn unknown_models_cost_as_the_dearest_of_their_family() {
    let table = PriceTable::builtin();
    let mixed = usage(1000, 2000, 3000, 4000, 5000);
    for (unknown, like) in [
        ("claude-haiku-9", "claude-haiku-4-5"),
        ("claude-sonnet-9-1", "claude-sonnet-4-6"),
        ("claude-opus-9", "claude-opus-4-1"),
        ("claude-fable-7", "claude-opus-4-1"),
        ("claude-mythos-x", "claude-opus-4-1"),
        ("claude-unreleased-9", "claude-opus-4-1"),
    ] {
        let price = table.price(&facts(unknown, &mixed));
        assert!(!price.known_model, "{unknown}");
        assert_eq!(table.guess(unknown).1, like, "{unknown}");
        assert_eq!(price.cost, cost_of(like, &mixed), "{unknown}");
        assert_eq!(table.priced_as(unknown).as_deref(), Some(like));
    }
    assert_eq!(table.priced_as("claude-sonnet-5"), None);
    // An unknown haiku: $1/$5, where the dearest model of all would be 15 times dearer.
    assert_eq!(cost_of("claude-haiku-9", &usage(MTOK, 0, 0, 0, MTOK)), usd(6.0));
}

#[test]
fn unknown_models_are_never_free() {
    let one_token = usage(0, 0, 0, 0, 1);
    assert!(cost_of("mystery", &one_token) > Pico(0));
    let table = PriceTable::builtin();
    let heaviest = table::MODELS.iter().map(|(_, rates, _)| rates.weight()).max();
    assert_eq!(Some(table.guess("mystery").0.weight()), heaviest);
}

#[test]
fn set_unknown_replaces_the_default() {
    let mut table = PriceTable::builtin();
    table.set_unknown(Rates::from_usd_per_mtok(100.0, 0.0, None, None, None), "pricing.unknown_model");
    let input = usage(MTOK, 0, 0, 0, 0);
    assert_eq!(table.price(&facts("claude-haiku-9", &input)).cost, usd(100.0));
    assert_eq!(table.priced_as("mystery").as_deref(), Some("pricing.unknown_model"));
}

#[test]
fn latest_aliases_are_priced_as_the_model_they_name() {
    assert_eq!(bucket_costs("claude-haiku-latest", MTOK), bucket_costs("claude-haiku-5-5", MTOK));
    assert_eq!(bucket_costs("claude-haiku-latest", 10_000), [0.001, 0.00125, 0.002, 0.0001, 0.005].map(usd));
    assert_per_mtok("claude-opus-latest", [4.0, 5.0, 8.0, 0.2, 20.0]);
    assert_eq!(bucket_costs("claude-sonnet-latest", MTOK), bucket_costs("claude-sonnet-5-5", MTOK));
    assert_eq!(bucket_costs("claude-fable-latest", MTOK), bucket_costs("claude-fable-5-1", MTOK));
    // Anthropic's alias names claude-3-5-haiku-20241022: $0.80 / $4, not LiteLLM's $1 / $5.
    assert_per_mtok("claude-3-5-haiku-latest", [0.8, 1.0, 1.6, 0.08, 4.0]);
    let table = PriceTable::builtin();
    assert_eq!(table.lookup("claude-haiku-latest").map(|(_, o)| o), Some(Origin::Alias));
    assert_eq!(table.lookup("claude-3-opus-20240229").map(|(_, o)| o), Some(Origin::Retired));
    assert_eq!(table.lookup("claude-opus-5-5").map(|(_, o)| o), Some(Origin::Snapshot));
}

#[test]
fn bedrock_ids_without_a_minor_version_are_known() {
    for model in [
        "anthropic.claude-opus-4-6-v1",
        "global.anthropic.claude-opus-4-6-v1",
        "us.anthropic.claude-opus-4-6-v1",
        "eu.anthropic.claude-opus-4-6-v1",
        "au.anthropic.claude-opus-4-6-v1",
    ] {
        assert!(PriceTable::builtin().rates(model).is_some(), "{model}");
    }
}

#[test]
fn bedrock_regional_profiles_of_4_5_and_later_cost_more_than_list() {
    let io = usage(100_000, 0, 0, 0, 100_000);
    // Opus 4.6: $0.50 + $2.50 at list (global and in-region ids), x1.1 in a geographic profile, x1.2 in GovCloud.
    assert_eq!(cost_of("global.anthropic.claude-opus-4-6-v1", &io), usd(3.0));
    assert_eq!(cost_of("anthropic.claude-opus-4-6-v1", &io), usd(3.0));
    for geo in ["us", "eu", "au", "jp", "apac"] {
        assert_eq!(cost_of(&format!("{geo}.anthropic.claude-opus-4-6-v1"), &io), usd(3.3), "{geo}");
    }
    assert_eq!(cost_of("us-gov.anthropic.claude-sonnet-4-5-20250929-v1:0", &io), usd(2.16));
    assert_eq!(cost_of("bedrock/us-gov-west-1/anthropic.claude-haiku-4-5-20251001-v1:0", &io), usd(0.72));
    assert_eq!(cost_of("eu.anthropic.claude-haiku-4-5-20251001-v1:0", &io), usd(0.66));
    // Before 4.5, regional profiles cost list.
    assert_eq!(cost_of("eu.anthropic.claude-sonnet-4-20250514-v1:0", &io), usd(1.8));
    assert_eq!(cost_of("us.anthropic.claude-3-5-haiku-20241022-v1:0", &io), usd(0.48));
}

#[test]
fn overrides_match_by_normalized_name_and_cover_dated_versions() {
    let mut table = PriceTable::builtin();
    table.set_override("Anthropic/Claude-Sonnet-4.5", Rates::from_usd_per_mtok(1.0, 2.0, None, None, None));
    let input = usage(MTOK, 0, 0, 0, 0);
    let price = table.price(&facts("us.anthropic.claude-sonnet-4-5-20250929-v1:0", &input));
    assert_eq!(price, Price { cost: usd(1.0), known_model: true });
    assert_eq!(table.price(&facts("claude-sonnet-4-6", &input)).cost, usd(3.0));
}

#[test]
fn a_later_override_replaces_an_earlier_one() {
    let mut table = PriceTable::builtin();
    table.set_override("my-gateway-model", Rates::from_usd_per_mtok(1.0, 1.0, None, None, None));
    table.set_override("My-Gateway-Model", Rates::from_usd_per_mtok(7.0, 1.0, None, None, None));
    let input = usage(MTOK, 0, 0, 0, 0);
    let price = table.price(&facts("my-gateway-model[1m]", &input));
    assert_eq!(price, Price { cost: usd(7.0), known_model: true });
}

// Rates from configuration.

#[test]
fn usd_per_mtok_rates_default_the_cache_prices_from_input() {
    let rates = Rates::from_usd_per_mtok(3.0, 15.0, None, None, None);
    let five_rates = [rates.input, rates.output, rates.cache_write_5m, rates.cache_write_1h, rates.cache_read];
    assert_eq!(five_rates, [3_000_000, 15_000_000, 3_750_000, 6_000_000, 300_000]);
    assert_eq!((rates.long_context, rates.fast_multiplier, rates.us_geo_multiplier), (None, 1, false));
}

#[test]
fn usd_per_mtok_rates_keep_explicit_cache_prices() {
    let rates = Rates::from_usd_per_mtok(0.25, 1.25, Some(0.3), Some(0.5), Some(0.03));
    let cache = [rates.cache_write_5m, rates.cache_write_1h, rates.cache_read];
    assert_eq!(cache, [300_000, 500_000, 30_000]);
}

#[test]
fn usd_per_mtok_rates_treat_nonsense_as_zero() {
    let rates = Rates::from_usd_per_mtok(f64::NAN, -1.0, Some(f64::INFINITY), None, None);
    assert_eq!((rates.input, rates.output, rates.cache_write_5m), (0, 0, 0));
}

// The generated table.

#[test]
fn the_table_is_sorted_for_binary_search() {
    let sorted = table::MODELS.windows(2).all(|pair| pair[0].0 < pair[1].0);
    assert!(sorted, "rerun scripts/gen-pricing.py");
}

#[test]
fn the_table_follows_the_one_hour_rule_and_has_no_free_model() {
    for (name, rates, _) in table::MODELS {
        assert_eq!(rates.cache_write_1h, 2 * rates.input, "{name}");
        assert!(rates.input > 0 && rates.output > 0 && rates.fast_multiplier >= 1, "{name}");
        if let Some(long) = rates.long_context {
            assert_eq!(long.cache_write_1h, 2 * long.input, "{name}");
            assert!(long.input > rates.input, "{name}");
        }
    }
}
