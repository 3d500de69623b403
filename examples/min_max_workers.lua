-- Seed: "Dask Kubernetes Environment w/ Min & Max Workers" (imperative API).
-- Runs on an auto-scaling Dask cluster on Kubernetes, between 1 and 3 workers.
local get_value = task("get_value", function() return "Example!" end)
local output_value = task("output_value", function(value) print(value) end)

local flow = Flow {
  name = "Min / Max Workers Dask Kubernetes Example",
  environment = DaskKubernetesEnvironment { min_workers = 1, max_workers = 3 },
}

-- set task dependencies using the imperative API
output_value:set_upstream(get_value, { flow = flow })
output_value:bind { value = get_value, flow = flow }

return flow
