// SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
// SPDX-License-Identifier: AGPL-3.0-only
// Stand-in for "umc/widgets/ContainerWidget" (UCS 5.x): a div that holds child widgets
// (dijit _WidgetBase + _Container).
/*global define*/
define([
	"dojo/_base/declare",
	"dijit/_WidgetBase",
	"dijit/_Container"
], function(declare, _WidgetBase, _Container) {
	return declare("umc.widgets.ContainerWidget", [_WidgetBase, _Container], {
		baseClass: 'umcContainerWidget',

		buildRendering: function() {
			this.inherited(arguments);
			this.containerNode = this.domNode;
		}
	});
});
