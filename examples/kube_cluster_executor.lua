-- Prefect 1.x's spelling of a Dask cluster made for each flow run: KubernetesRun with
-- DaskExecutor{cluster_class = "KubeCluster"}; cluster_kwargs and adapt_kwargs as
-- dask-kubernetes' KubeCluster takes them.
local get_value = task("get_value", function() return "Example!" end)
local output_value = task("output_value", function(value) print(value) end)

local flow = Flow("KubeCluster Executor Example", function()
  output_value(get_value())
end)

flow.run_config = KubernetesRun { env = { FLOW_STAGE = "example" } }
flow.executor = DaskExecutor {
  cluster_class = "KubeCluster",
  cluster_kwargs = { name = "dask-{user}-{FLOW_STAGE}-{uuid}" },
  adapt_kwargs = { minimum = 1, maximum = 2 },
}

return flow
