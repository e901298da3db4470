//! Black-box tests: each starts the real server on port 0 with a fresh
//! database and talks to it over HTTP. Test names carry the checklist ids
//! they prove.
mod helpers;
mod orders;
// The platform's tests, managed by the template with the code they prove
// (src/platform/); the service's own tests sit beside this file.
mod platform;
