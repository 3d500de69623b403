-- Seed: "Static Dask Cluster on Kubernetes" (functional API).
-- The flow runs as a Kubernetes Job against a long-running Dask cluster.
local get_value = task("get_value", function() return "Example!" end)
local output_value = task("output_value", function(value) print(value) end)

local flow = Flow("Static Dask Cluster Example", function()
  local value = get_value()
  output_value(value)
end)

flow.run_config = KubernetesRun {}
flow.executor = DaskExecutor { address = "tcp://dask-scheduler:8786" }
flow.storage = Docker { registry_url = "gcr.io/dev/", image_name = "dask-k8s-flow", image_tag = "0.1.0" }

return flow
