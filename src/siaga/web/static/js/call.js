// The call page: the call as the API gives it (its number masked unless the reader may see it in full).
function callPage(callId) {
  return {
    call: null,
    async load() {
      const r = await Siaga.api("GET", `/api/v1/calls/${callId}`);
      if (r.ok) this.call = r.data;
    },
  };
}
