-- Seed: "Dask Kubernetes Environment w/ Custom Worker YAML".
-- worker_spec.yaml sits next to this file; its image matches the flow's Docker storage.
local get_value = task("get_value", function() return "Example!" end)
local output_value = task("output_value", function(value) print(value) end)

local flow = Flow {
  name = "Custom Worker Spec Dask Kubernetes Example",
  environment = DaskKubernetesEnvironment { worker_spec_file = "worker_spec.yaml" },
  storage = Docker { registry_url = "gcr.io/dev/", image_name = "dask-k8s-flow", image_tag = "0.1.0" },
}

output_value:set_upstream(get_value, { flow = flow })
output_value:bind { value = get_value, flow = flow }

return flow
