/**
 * The test run's switch (not the product's configuration): CI sets REQUIRE_SERVICES=1, and then a missing service
 * or tool (PostgreSQL, SoftHSM2, poppler-utils) fails the run instead of skipping its suites.
 */
export const servicesRequired = process.env.REQUIRE_SERVICES === '1';
