-- Prefect 1: tests/engine/test_flow_runner.py::test_flow_run_state_determined_by_reference_tasks
-- (with a skipped reference task) skipper is the reference task and skips; failer, also
-- terminal, fails. Skipped counts as success: the flow succeeds.
local skipper = dk.task("skipper", function() dk.skip("not today") end)
local failer = dk.task("failer", function() error("broken") end)

return Flow { name = "ref_skipped", tasks = { skipper, failer }, reference_tasks = { skipper } }
