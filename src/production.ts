/**
 * The `trailgraph` command runs as production code unless told otherwise: graphql-js checks
 * every type it meets against other copies of itself ("another module or realm") outside
 * production, which cost 8% of a list query's CPU in the benchmark profile, and Apollo
 * keeps stack traces out of error responses. Loaded before anything imports graphql.
 */
process.env.NODE_ENV ??= "production";
